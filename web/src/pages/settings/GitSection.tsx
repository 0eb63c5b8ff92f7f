import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { Loading } from '../../components/EmptyState';
import { useToast } from '../../components/Toast';
import { useLoader } from '../../useLoader';
import { SettingSwitch } from '../repositories/parts';

/** Platform admins: what repositories may point at. */
export function GitSection() {
  const toast = useToast();
  const loaded = useLoader(async () => (await call(api.GET('/api/v1/settings/git'))).git, 'settings-git');
  const [allowFileUrls, setAllowFileUrls] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    if (loaded.data) setAllowFileUrls(loaded.data.allowFileUrls);
  }, [loaded.data]);

  async function change(next: boolean) {
    try {
      const answer = await call(api.PUT('/api/v1/settings/git', { body: { allowFileUrls: next } }));
      setAllowFileUrls(answer.git.allowFileUrls);
      toast.success(next ? 'Local file:// repositories are allowed.' : 'Local file:// repositories are refused.');
    } catch (caught) {
      toast.error(errorMessage(caught));
    }
  }

  return (
    <section className="card card-flush" aria-label="Git">
      <header className="card-header">
        <div>
          <h2 className="title-with-badge">Git {allowFileUrls ? <Badge tone="amber">file:// allowed</Badge> : null}</h2>
          <p className="card-subtitle">
            Repositories of addons are cloned over https or ssh, with a deploy key per repository and pinned host keys.
          </p>
        </div>
      </header>
      <div className="card-body">
        {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
        {allowFileUrls === undefined && !loaded.error ? <Loading /> : null}
        {allowFileUrls !== undefined ? (
          <SettingSwitch
            label="Allow local file:// repositories"
            hint={
              <>
                Lets organization admins add <code>file:///path/to/repo.git</code>: folders on Marina’s own machine. Any
                organization could then read any git repository this server can reach on disk — turn it on only on a
                server you alone use, or for tests.
              </>
            }
            checked={allowFileUrls}
            onChange={change}
          />
        ) : null}
      </div>
    </section>
  );
}
