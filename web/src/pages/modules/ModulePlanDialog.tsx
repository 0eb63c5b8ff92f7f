import { useState } from 'react';
import type { Instance, ModulePlan } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConfirmNameField, typedNameMatches } from '../../components/ConfirmNameField';

function PlanLine({ label, names, danger }: { label: string; names: string[]; danger?: boolean }) {
  if (names.length === 0) return null;
  return (
    <li className={danger ? 'plan-line plan-danger' : 'plan-line'} data-plan={label}>
      <span className="plan-label">{label}</span>
      <span className="mono plan-names">{names.join(', ')}</span>
    </li>
  );
}

/** What a batch will do, as the dry run answered; uninstalling on production takes the instance's name. */
export function ModulePlanDialog({
  instance,
  plan,
  onConfirm,
  onClose,
}: {
  instance: Instance;
  plan: ModulePlan;
  onConfirm(confirm: string | undefined): Promise<void>;
  onClose(): void;
}) {
  const [typed, setTyped] = useState('');
  const removing = plan.uninstall.length > 0;
  const needsName = removing && instance.stage === 'production';
  const verbs = [
    plan.updateList ? 'update the apps list' : null,
    plan.install.length > 0 ? `install ${plan.install.length}` : null,
    plan.upgrade.length > 0 ? `upgrade ${plan.upgrade.length}` : null,
    removing ? `uninstall ${plan.uninstall.length + plan.alsoUninstalled.length}` : null,
  ].filter(Boolean);
  const title = verbs.length === 1 && plan.updateList ? 'Update the apps list?' : `Change modules of ${instance.name}?`;
  return (
    <ConfirmDialog
      title={title}
      confirmLabel={removing ? 'Uninstall' : plan.updateList && verbs.length === 1 ? 'Update apps list' : 'Apply'}
      tone={removing ? 'danger' : 'primary'}
      confirmDisabled={needsName && !typedNameMatches(typed, instance.name)}
      onConfirm={() => onConfirm(needsName ? typed.trim() : undefined)}
      onClose={onClose}
    >
      <ul className="module-plan" data-testid="module-plan">
        {plan.updateList ? (
          <li className="plan-line" data-plan="Update the apps list">
            <span className="plan-label">Apps list</span>
            <span>read the addons again, so new modules appear</span>
          </li>
        ) : null}
        <PlanLine label="Install" names={plan.install} />
        <PlanLine label="Upgrade" names={plan.upgrade} />
        <PlanLine label="Uninstall" names={plan.uninstall} danger />
        <PlanLine label="Also uninstalled" names={plan.alsoUninstalled} danger />
      </ul>
      {plan.alsoUninstalled.length > 0 ? (
        <p className="plan-warning">
          These installed modules depend on what you uninstall: Odoo removes them too, with their data.
        </p>
      ) : null}
      <p className="muted">
        Marina takes a safety backup of the database first and stops Odoo while it works; if anything fails, the
        database is restored.
      </p>
      {needsName ? (
        <ConfirmNameField id="confirm-modules" name={instance.name} value={typed} onChange={setTyped} />
      ) : null}
    </ConfirmDialog>
  );
}
