/**
 * The audit vocabulary of self-service (plans, subscriptions, sign-up, templates, mail, external
 * login) and of the cluster's nodes, spread into `auditVocabulary` so that the one vocabulary stays one.
 */
export const selfServiceVocabulary = {
  plan: {
    describe: 'A plan the platform sells: limits, trial and prices.',
    name: 'its name',
    verbs: {
      create: 'The plan was made.',
      update: 'Its limits, prices or description changed.',
      archive: 'The plan was archived (no longer offered; organizations on it keep it).',
    },
  },
  subscription: {
    describe: 'An organization’s subscription to a plan (the id is the organization’s).',
    name: "the organization's slug",
    verbs: {
      create: 'The organization was given a plan (a trial or a paid subscription).',
      change_plan: 'Its plan changed.',
      extend_trial: 'Its trial was extended.',
      convert: 'The trial was converted to a paid subscription.',
      suspend: 'The organization was suspended (its instances stopped, its data kept).',
      resume: 'The organization was resumed.',
      cancel: 'The subscription ended after its grace period: final backups taken, instances deleted.',
      reminder: 'A trial reminder was sent.',
    },
  },
  odoo_template: {
    describe: 'A template offered at sign-up: Odoo version, modules, language, country, demo data.',
    name: 'its name',
    verbs: {
      create: 'The template was made.',
      update: 'The template changed.',
      delete: 'The template was removed.',
    },
  },
  signup: {
    describe: 'A sign-up of a new customer.',
    name: 'the email address it was made with',
    verbs: {
      request: 'Someone asked to sign up (a verification link was mailed).',
      verify: 'The email was verified: the organization and its first instance were made.',
    },
  },
  mail_template: {
    describe: 'A template of the mails Marina sends to people (the id is `<key>/<locale>`).',
    name: '`<key>/<locale>`',
    verbs: {
      update: 'The template was edited.',
      reset: 'The edited template was removed: the default applies again.',
    },
  },
  oidc_provider: {
    describe: 'An external sign-in provider (OpenID Connect).',
    name: 'its name',
    verbs: {
      create: 'The provider was added.',
      update: 'Its settings changed.',
      delete: 'The provider was removed.',
    },
  },
  alert_channel: {
    describe:
      "Where an organization's alerts go: an email address or a webhook (Slack, Mattermost, Discord, Teams, generic).",
    name: 'its name',
    verbs: {
      create: 'The channel was added.',
      update: 'Its name, address or switch changed.',
      delete: 'The channel was removed.',
      test: 'A test message was sent through it.',
    },
  },
  alert_rule: {
    describe:
      "An organization's alert rule (instance down…): on or off, and its repeat interval (the id is `<organization>/<rule>`).",
    name: 'the rule',
    verbs: {
      update: 'The rule was switched or tuned.',
    },
  },
  invoice: {
    describe: 'An invoice or credit note issued to an organization (immutable once issued).',
    name: 'its number',
    verbs: {
      issue: 'It was issued (a new period, a plan change, a checkout).',
      mark_paid: 'A platform admin recorded it paid by hand (a bank transfer), with a note.',
      credit: 'A credit note was issued against it.',
    },
  },
  billing: {
    describe:
      'The platform’s billing: seller details, dunning, tax rates and payment providers (the id is what changed).',
    name: 'what changed',
    verbs: {
      update_settings: 'The seller details, due days or dunning changed.',
      set_tax_rate: 'A country’s tax rate was set or removed.',
      set_provider: 'A payment provider’s credentials were set, switched or removed.',
      update_details: 'An organization’s billing details (name, address, country, tax id) changed.',
    },
  },
  node: {
    describe: 'A host of the cluster: a Docker engine Marina added to its Swarm.',
    name: 'its name',
    verbs: {
      add: 'A platform admin added the host; Marina made it a Swarm manager or joined it to the Swarm.',
      drain:
        'The node was drained: it takes no new instances, and its instances were queued to move to other nodes (Swarm drains it once it is empty).',
      activate: 'The node takes instances again.',
      remove: 'The node left the Swarm and Marina forgot it.',
    },
  },
} as const;
