import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { projectsQuery } from '../../api/queries';
import { stages } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { stageLabel } from '../../operate';

/** An organization's projects, each linking to its page, with how many instances each stage has. */
export function OrganizationProjects({ organizationId }: { organizationId: string }) {
  const projects = useQuery(projectsQuery());
  const own = (projects.data ?? []).filter((p) => p.organizationId === organizationId);
  if (own.length === 0) return null;
  return (
    <section className="card card-flush">
      <header className="card-header">
        <h2>Projects</h2>
      </header>
      <DataTable
        label="Projects"
        className="table-compact"
        rows={own}
        rowKey={(p) => p.id}
        rowProps={(p) => ({ 'data-project': p.name })}
        columns={[
          {
            header: 'Project',
            cell: (p) => (
              <Link className="row-title" to={`/projects/${p.id}`}>
                {p.displayName}
              </Link>
            ),
          },
          { header: 'Odoo', className: 'mono', cell: (p) => p.odooVersion },
          ...stages.map((stage) => ({
            header: stageLabel[stage],
            headerClassName: 'num',
            className: 'num tabular',
            cell: (p: (typeof own)[number]) => p.instanceCounts?.[stage] ?? '—',
          })),
        ]}
      />
    </section>
  );
}
