import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
// The house styles, in cascade order; the phone rules come last so that they win on small screens.
import './styles/base.css';
import './styles/layout.css';
import './styles/tables.css';
import './styles/controls.css';
import './styles/feedback.css';
import './styles/instances.css';
import './styles/jobs.css';
import './styles/wizard.css';
import './styles/logs.css';
import './styles/logs-controls.css';
import './styles/logs-requests.css';
import './styles/logs-wrap.css';
import './styles/backups.css';
import './styles/clone-import.css';
import './offsite.css';
import './repositories.css';
import './styles/phone-shell.css';
import './styles/phone-tables.css';
import './styles/phone-pages.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
