import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type KeyboardEvent as ReactKeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, call } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field } from '../../components/Field';
import { useToast } from '../../components/Toast';
import { formatDate } from '../../format';
import { useSession } from '../../session/SessionContext';
import { plansQuery } from '../plans/api';
import { type CustomerRow, customerKeys, lifecycleSettingsQuery } from './api';

type Action = 'suspend' | 'resume' | 'extend' | 'plan' | 'convert' | 'open';

const DAY_MS = 86_400_000;
const instancesText = (n: number) => (n === 1 ? 'its instance' : `its ${n} instances`);

/** What the platform admin may do to a customer in its state (the API refuses the rest anyway). */
function actionsFor(row: CustomerRow): { id: Action; label: string }[] {
  const status = row.status;
  const list: { id: Action; label: string }[] = [];
  if (status === 'trialing' || status === 'active' || status === 'past_due')
    list.push({ id: 'suspend', label: 'Suspend…' });
  if (status === 'suspended') list.push({ id: 'resume', label: 'Resume…' });
  if (status === 'trialing' || (status === 'suspended' && row.trialEndsAt))
    list.push({ id: 'extend', label: 'Extend trial…' });
  if (status !== 'cancelled') list.push({ id: 'plan', label: status ? 'Change plan…' : 'Give a plan…' });
  if (status === 'trialing') list.push({ id: 'convert', label: 'Convert to paid…' });
  list.push({ id: 'open', label: 'Open as the organization…' });
  return list;
}

/**
 * The per-row menu: a button that opens a short list of actions, each asking first in a dialog that
 * says what will happen. Placed on the page's top layer (fixed), so a scrolling table does not clip it.
 */
export function CustomerActions({ row }: { row: CustomerRow }) {
  const [open, setOpen] = useState(false);
  const [position, setPosition] = useState({ top: 0, right: 0 });
  const [action, setAction] = useState<Action | null>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLDivElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (!open) return;
    menuRef.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const close = (event: Event) => {
      if (event.type === 'keydown' && (event as KeyboardEvent).key !== 'Escape') return;
      if (event.type === 'pointerdown' && menuRef.current?.contains(event.target as Node)) return;
      setOpen(false);
      if (event.type === 'keydown') buttonRef.current?.focus();
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    window.addEventListener('scroll', close, true);
    window.addEventListener('resize', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
      window.removeEventListener('scroll', close, true);
      window.removeEventListener('resize', close);
    };
  }, [open]);

  function toggle() {
    const box = buttonRef.current?.getBoundingClientRect();
    if (box) setPosition({ top: box.bottom + 4, right: window.innerWidth - box.right });
    setOpen((value) => !value);
  }

  /** Arrow keys move between the items, as a menu does. */
  function move(event: ReactKeyboardEvent) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    event.preventDefault();
    const items = [...(menuRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const next = (at + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
    items[next]?.focus();
  }

  return (
    <>
      <button
        ref={buttonRef}
        type="button"
        className="btn btn-secondary btn-small"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={`Actions for ${row.organization.name}`}
        onClick={toggle}
      >
        Actions ▾
      </button>
      {open ? (
        <div
          ref={menuRef}
          id={menuId}
          role="menu"
          aria-label={`Actions for ${row.organization.name}`}
          className="customers-menu"
          style={{ top: position.top, right: position.right }}
          onKeyDown={move}
        >
          {actionsFor(row).map((a) => (
            <button
              key={a.id}
              type="button"
              role="menuitem"
              className="customers-menu-item"
              onClick={() => {
                setOpen(false);
                setAction(a.id);
              }}
            >
              {a.label}
            </button>
          ))}
        </div>
      ) : null}
      {action ? <ActionDialog row={row} action={action} onClose={() => setAction(null)} /> : null}
    </>
  );
}

function ActionDialog({ row, action, onClose }: { row: CustomerRow; action: Action; onClose(): void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { signedIn } = useSession();
  const grace = useQuery({ ...lifecycleSettingsQuery(), enabled: action === 'suspend' });
  const plans = useQuery({ ...plansQuery(), enabled: action === 'plan' });
  const [reason, setReason] = useState('');
  const [days, setDays] = useState('7');
  const [planId, setPlanId] = useState('');
  const [trial, setTrial] = useState(true);
  const org = row.organization;
  const path = { params: { path: { id: org.id } } };
  const refresh = () => queryClient.invalidateQueries({ queryKey: customerKeys.all });

  async function done(message: string) {
    toast.success(message);
    await refresh();
  }

  if (action === 'suspend')
    return (
      <ConfirmDialog
        title={`Suspend ${org.name}?`}
        confirmLabel="Suspend"
        confirmDisabled={!reason.trim()}
        onClose={onClose}
        onConfirm={async () => {
          await call(
            api.POST('/api/v1/organizations/{id}/subscription/suspend', { ...path, body: { reason: reason.trim() } }),
          );
          await done(`${org.name} is suspended.`);
        }}
      >
        <p>
          {row.instances > 0 ? `${capital(instancesText(row.instances))} stop` : 'It has no instance to stop'}; its
          sites say the organization is suspended, and its owners are told by email (without your reason). Resuming
          starts again the instances that ran.
        </p>
        <p>
          If it is not resumed within {grace.data ? `${grace.data.graceDays} days` : 'the grace period'}, its instances
          are deleted (a final backup of each is kept).
        </p>
        <Field label="Reason" hint="For the audit trail and the other administrators; the customer never sees it.">
          {(props) => (
            <textarea {...props} rows={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} />
          )}
        </Field>
      </ConfirmDialog>
    );

  if (action === 'resume')
    return (
      <ConfirmDialog
        title={`Resume ${org.name}?`}
        confirmLabel="Resume"
        tone="primary"
        onClose={onClose}
        onConfirm={async () => {
          await call(api.POST('/api/v1/organizations/{id}/subscription/resume', { ...path, body: {} }));
          await done(`${org.name} is resumed.`);
        }}
      >
        <p>
          The instances that ran when it was suspended start again, its sites answer again, and its owners are told by
          email.
        </p>
      </ConfirmDialog>
    );

  if (action === 'extend') {
    const n = Number(days);
    const valid = Number.isInteger(n) && n >= 1 && n <= 365;
    const end = row.trialEndsAt ? new Date(row.trialEndsAt).getTime() : null;
    return (
      <ConfirmDialog
        title={`Extend the trial of ${org.name}?`}
        confirmLabel="Extend trial"
        tone="primary"
        confirmDisabled={!valid}
        onClose={onClose}
        onConfirm={async () => {
          await call(api.POST('/api/v1/organizations/{id}/subscription/extend-trial', { ...path, body: { days: n } }));
          await done(`The trial of ${org.name} is extended by ${n} day${n === 1 ? '' : 's'}.`);
        }}
      >
        <p>
          {end && valid
            ? `The trial ends on ${formatDate(new Date(end + n * DAY_MS).toISOString())} instead of ${formatDate(new Date(end).toISOString())}.`
            : 'The trial ends that many days later.'}
          {row.status === 'suspended' ? ' A trial that had ended resumes: its instances start again.' : ''}
        </p>
        <Field label="Days" hint="From 1 to 365, added to the trial's end.">
          {(props) => (
            <input {...props} type="number" min={1} max={365} value={days} onChange={(e) => setDays(e.target.value)} />
          )}
        </Field>
      </ConfirmDialog>
    );
  }

  if (action === 'plan') {
    const choices = (plans.data ?? []).filter((p) => p.id !== row.plan?.id);
    const chosen = choices.find((p) => p.id === planId);
    return (
      <ConfirmDialog
        title={row.plan ? `Change the plan of ${org.name}?` : `Give ${org.name} a plan?`}
        confirmLabel={row.plan ? 'Change plan' : 'Give plan'}
        tone="primary"
        confirmDisabled={!chosen}
        onClose={onClose}
        onConfirm={async () => {
          if (row.plan)
            await call(api.POST('/api/v1/organizations/{id}/subscription/plan', { ...path, body: { planId } }));
          else await call(api.POST('/api/v1/organizations/{id}/subscription', { ...path, body: { planId, trial } }));
          await done(`${org.name} is on ${chosen?.name ?? 'the new plan'}.`);
        }}
      >
        <p>
          {row.plan
            ? `It moves from ${row.plan.name} at once. If it uses more than the new plan allows, nothing changes and you are told what it would have to remove.`
            : 'Its limits apply from now on; until now it had none.'}
        </p>
        <Field label="Plan">
          {(props) => (
            <select {...props} value={planId} onChange={(e) => setPlanId(e.target.value)}>
              <option value="">{plans.isPending ? 'Loading…' : 'Choose a plan'}</option>
              {choices.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        {row.plan ? null : (
          <label className="customers-check">
            <input type="checkbox" checked={trial} onChange={(e) => setTrial(e.target.checked)} /> Start with the plan's
            trial{chosen?.trialDays ? ` (${chosen.trialDays} days)` : ''}
          </label>
        )}
      </ConfirmDialog>
    );
  }

  if (action === 'convert')
    return (
      <ConfirmDialog
        title={`Convert ${org.name} to paid?`}
        confirmLabel="Convert to paid"
        tone="primary"
        onClose={onClose}
        onConfirm={async () => {
          await call(api.POST('/api/v1/organizations/{id}/subscription/convert', { ...path, body: {} }));
          await done(`${org.name} is now a paying customer.`);
        }}
      >
        <p>
          The trial ends now and the subscription becomes active on {row.plan?.name ?? 'its plan'}: no more trial
          reminders, no suspension at the trial's end.
        </p>
      </ConfirmDialog>
    );

  return (
    <ConfirmDialog
      title={`Open ${org.name} as its members see it?`}
      confirmLabel="Open as the organization"
      tone="primary"
      confirmDisabled={!reason.trim()}
      onClose={onClose}
      onConfirm={async () => {
        const start = await call(
          api.POST('/api/v1/organizations/{id}/impersonate', { ...path, body: { reason: reason.trim() } }),
        );
        await signedIn(start);
        navigate(`/organizations/${start.organization.slug}`);
      }}
    >
      <p>
        You see {org.name} as its owner does, read-only, for 60 minutes; nothing can be changed from that view. It is
        recorded in the organization's audit trail with your reason, where its members see it.
      </p>
      <Field label="Reason" hint="Why you look, e.g. the support request you answer.">
        {(props) => <input {...props} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
    </ConfirmDialog>
  );
}

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
