import { Navigate } from 'react-router-dom';
import { isOperator } from '../session/permissions';
import { useMe } from '../session/SessionContext';
import { useCurrentOrganization } from './current-organization';

/** Where `/` leads: the operator to the organizations, a customer to their organization's projects. */
export function Home() {
  const me = useMe();
  const current = useCurrentOrganization(me);
  if (isOperator(me) || !current) return <Navigate to="/organizations" replace />;
  return <Navigate to={`/organizations/${current.slug}`} replace />;
}
