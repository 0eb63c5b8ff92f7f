import type { ReactNode } from 'react';
import { ArchiveIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';

interface ComingSoonProps {
  title: string;
  subtitle: string;
  icon: ReactNode;
  headline: string;
  description: string;
  features: string[];
}

function ComingSoon({ title, subtitle, icon, headline, description, features }: ComingSoonProps) {
  return (
    <>
      <PageHeader title={title} subtitle={subtitle} />
      <section className="card coming-soon">
        <div className="coming-soon-icon">{icon}</div>
        <span className="badge badge-amber">In development</span>
        <h2>{headline}</h2>
        <p className="coming-soon-description">{description}</p>
        <ul className="coming-soon-features">
          {features.map((feature) => (
            <li key={feature}>{feature}</li>
          ))}
        </ul>
        <p className="coming-soon-note">
          Nothing is shown here yet because this part of Marina is not released. Instances, jobs, organizations, people,
          API tokens and the audit log already work.
        </p>
      </section>
    </>
  );
}

export function BackupsPage() {
  return (
    <ComingSoon
      title="Backups"
      subtitle="Database and filestore snapshots of your instances."
      icon={<ArchiveIcon width={32} height={32} />}
      headline="Backups and restores will appear here"
      description="Marina will back up every instance on a schedule and let you restore with a click."
      features={[
        'Scheduled and on-demand backups with retention rules',
        'Size, duration and result of every backup',
        'Restore into the same instance or a new staging copy',
        'Download a backup to keep a copy off the server',
      ]}
    />
  );
}
