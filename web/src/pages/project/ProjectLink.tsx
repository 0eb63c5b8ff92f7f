import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { projectsQuery } from '../../api/queries';

/** A project's name, linking to its page (the projects list is cached: no request per link). */
export function ProjectLink({ projectId, className }: { projectId: string; className?: string }) {
  const projects = useQuery(projectsQuery());
  const project = projects.data?.find((p) => p.id === projectId);
  return (
    <Link className={className} to={`/projects/${projectId}`} onClick={(e) => e.stopPropagation()}>
      {project?.displayName ?? project?.name ?? 'Project'}
    </Link>
  );
}
