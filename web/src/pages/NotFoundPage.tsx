import { Link } from 'react-router-dom';
import { EmptyState } from '../components/EmptyState';

export function NotFoundPage() {
  return (
    <section className="card">
      <EmptyState title="This page does not exist">
        <p>The address may be mistyped, or the page moved.</p>
        <Link className="btn btn-primary" to="/">
          Back to Marina
        </Link>
      </EmptyState>
    </section>
  );
}
