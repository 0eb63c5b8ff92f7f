import type { ReactNode } from 'react';

export type BadgeTone = 'teal' | 'blue' | 'gray' | 'green' | 'amber' | 'red' | 'violet';

export function Badge({ tone = 'gray', children }: { tone?: BadgeTone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

const roleTones: Record<string, BadgeTone> = { owner: 'violet', admin: 'blue', developer: 'green', viewer: 'gray' };

export function RoleBadge({ role }: { role: string | null }) {
  if (!role) return <Badge tone="gray">platform admin</Badge>;
  return <Badge tone={roleTones[role] ?? 'gray'}>{role}</Badge>;
}
