import type { Static } from 'typebox';
import type { AuditVocabulary } from './schemas.js';
import { type AuditTargetType, auditActions, auditVocabulary } from './vocabulary.js';

/** The vocabulary for the API: what the audit page's filters offer. */
export function auditVocabularyView(): Static<typeof AuditVocabulary> {
  const actions = auditActions();
  return {
    targets: (Object.keys(auditVocabulary) as AuditTargetType[]).map((type) => ({
      type,
      describe: auditVocabulary[type].describe,
      label: auditVocabulary[type].name,
      actions: actions.filter((a) => a.targetType === type).map(({ action, describe }) => ({ action, describe })),
    })),
  };
}
