import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { BellIcon, PlusIcon } from '../../components/icons';
import { useToast } from '../../components/Toast';
import { formatDate } from '../../format';
import { AddChannelModal, kindLabel } from './AddChannelModal';
import { type AlertChannel, alertKeys, alertsApi, type ChannelTest, channelsQuery } from './api';

interface Tested {
  busy: boolean;
  result?: ChannelTest;
  error?: unknown;
}

/** What the test button's message did, in words. */
function TestOutcome({ tested, channel }: { tested: Tested; channel: AlertChannel }) {
  if (tested.busy) return <Loading label={`Sending a test message to ${channel.name}…`} />;
  if (tested.error) return <Alert kind="error">{errorMessage(tested.error)}</Alert>;
  const result = tested.result;
  if (!result) return null;
  const status = result.status ? ` (HTTP ${result.status})` : '';
  return result.ok ? (
    <Alert kind="success">
      Test message delivered to {channel.name}
      {status}.
    </Alert>
  ) : (
    <Alert kind="error" title="The test message was not delivered">
      {result.error ?? 'The receiver refused it'}
      {status}
    </Alert>
  );
}

/** On or off: an off channel keeps its address but is sent nothing. */
function ChannelSwitch({ channel, onChange }: { channel: AlertChannel; onChange(next: boolean): Promise<void> }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      role="switch"
      aria-checked={channel.enabled}
      aria-label={`${channel.name} enabled`}
      data-permission="alerts.manage"
      title={channel.enabled ? 'On: alerts are sent here. Click to pause.' : 'Off: nothing is sent here.'}
      className={`switch${channel.enabled ? ' switch-on' : ''}`}
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await onChange(!channel.enabled);
        } finally {
          setBusy(false);
        }
      }}
    >
      <span className="switch-thumb" aria-hidden="true" />
    </button>
  );
}

/** The organization's alert channels: add, switch, test and remove (those who manage alerts only). */
export function ChannelsSection({ organizationId }: { organizationId: string }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const channels = useQuery(channelsQuery(organizationId));
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<AlertChannel | null>(null);
  const [tests, setTests] = useState<Record<string, Tested>>({});
  const refresh = () => queryClient.invalidateQueries({ queryKey: alertKeys.channels(organizationId) });

  async function toggle(channel: AlertChannel, enabled: boolean) {
    try {
      await alertsApi.updateChannel(organizationId, channel.id, { enabled });
      toast.success(enabled ? `${channel.name} receives alerts again.` : `${channel.name} is paused.`);
    } catch (error) {
      toast.error(errorMessage(error));
    }
    await refresh();
  }

  async function test(channel: AlertChannel) {
    setTests((all) => ({ ...all, [channel.id]: { busy: true } }));
    try {
      const result = await alertsApi.testChannel(organizationId, channel.id);
      setTests((all) => ({ ...all, [channel.id]: { busy: false, result } }));
    } catch (error) {
      setTests((all) => ({ ...all, [channel.id]: { busy: false, error } }));
    }
  }

  return (
    <section className="card card-flush alerts-card" aria-label="Alert channels">
      <header className="card-header">
        <div>
          <h2>Channels</h2>
          <p className="card-subtitle">Every enabled channel receives each alert and its resolution.</p>
        </div>
        <button
          type="button"
          className="btn btn-primary"
          data-permission="alerts.manage"
          onClick={() => setAdding(true)}
        >
          <PlusIcon />
          Add channel
        </button>
      </header>
      {channels.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(channels.error)}</Alert>
        </div>
      ) : null}
      {channels.isPending ? <Loading /> : null}
      {channels.data ? (
        <DataTable
          label="Alert channels"
          className="channels-table"
          rows={channels.data}
          rowKey={(c) => c.id}
          rowProps={(c) => ({ 'data-channel-id': c.id, 'data-kind': c.kind })}
          rowDetails={(c) => {
            const tested = tests[c.id];
            return tested ? <TestOutcome tested={tested} channel={c} /> : null;
          }}
          empty={
            <EmptyState icon={<BellIcon width={28} height={28} />} title="No channels yet">
              Alerts are only recorded as incidents until a channel is added: an email address, a signed JSON webhook,
              or a Slack, Mattermost, Discord or Teams incoming webhook.
            </EmptyState>
          }
          columns={[
            {
              header: 'Name',
              cell: (c) => (
                <span className="stacked-time">
                  <span className="row-title">{c.name}</span>
                  <span className="muted">
                    {kindLabel(c.kind)} · added {formatDate(c.createdAt)}
                  </span>
                </span>
              ),
            },
            {
              header: 'Sends to',
              cell: (c) => (
                <span className="mono channel-target" title={c.target}>
                  {c.target}
                </span>
              ),
            },
            {
              header: 'Enabled',
              cell: (c) => <ChannelSwitch channel={c} onChange={(next) => toggle(c, next)} />,
            },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (c) => (
                <>
                  <button
                    type="button"
                    className="btn btn-ghost"
                    data-permission="alerts.manage"
                    disabled={tests[c.id]?.busy}
                    onClick={() => void test(c)}
                  >
                    Send test<span className="visually-hidden"> to {c.name}</span>
                  </button>
                  <button
                    type="button"
                    className="btn btn-ghost btn-danger-text"
                    data-permission="alerts.manage"
                    onClick={() => setRemoving(c)}
                  >
                    Remove<span className="visually-hidden"> {c.name}</span>
                  </button>
                </>
              ),
            },
          ]}
        />
      ) : null}
      {adding ? (
        <AddChannelModal
          organizationId={organizationId}
          onClose={() => setAdding(false)}
          onAdded={(channel) => {
            toast.success(`${channel.name} added: send it a test message.`);
            void refresh();
          }}
        />
      ) : null}
      {removing ? (
        <ConfirmDialog
          title="Remove channel?"
          confirmLabel="Remove channel"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await alertsApi.removeChannel(organizationId, removing.id);
            toast.success(`${removing.name} was removed.`);
            await refresh();
          }}
        >
          <p>
            <strong>{removing.name}</strong> ({kindLabel(removing.kind)}, {removing.target}) receives no more alerts.
            Alerts already sent are not recalled.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
