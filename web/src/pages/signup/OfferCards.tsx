import { ChoiceCard } from '../../components/ChoiceCard';
import { formatPrice } from '../plans/api';
import type { SignupPlan, SignupPrice, SignupTemplate } from './api';

const periodWord: Record<string, string> = { month: 'month', monthly: 'month', year: 'year', yearly: 'year' };

function priceText(price: SignupPrice): string {
  return `${formatPrice(price.amountMinor, price.currency)} / ${periodWord[price.period] ?? price.period}`;
}

/** The public plans as cards: what each costs after its free trial. */
export function PlanCards({
  plans,
  value,
  onChange,
}: {
  plans: SignupPlan[];
  value: string;
  onChange(id: string): void;
}) {
  return (
    <fieldset className="signup-choices">
      <legend>Plan</legend>
      <div className="choice-grid signup-grid">
        {plans.map((plan) => (
          <ChoiceCard
            key={plan.id}
            name="plan"
            value={plan.id}
            checked={value === plan.id}
            onChange={() => onChange(plan.id)}
            className="signup-card"
            title={
              <>
                <span>{plan.name}</span>
                {plan.trialDays > 0 ? <span className="signup-trial">{plan.trialDays}-day free trial</span> : null}
              </>
            }
            hint={
              <>
                {plan.description ? <span className="signup-card-text">{plan.description}</span> : null}
                {plan.prices.length > 0 ? (
                  <span className="signup-price">then {plan.prices.map(priceText).join(' or ')}</span>
                ) : null}
              </>
            }
          />
        ))}
      </div>
    </fieldset>
  );
}

/** The public Odoo templates as cards, with "No template" (a bare Odoo) first and chosen by default. */
export function TemplateCards({
  templates,
  value,
  onChange,
}: {
  templates: SignupTemplate[];
  value: string;
  onChange(id: string): void;
}) {
  return (
    <fieldset className="signup-choices">
      <legend>Start from</legend>
      <div className="choice-grid signup-grid">
        <ChoiceCard
          name="template"
          value=""
          checked={value === ''}
          onChange={() => onChange('')}
          className="signup-card"
          title="No template"
          hint={<span className="signup-card-text">A clean Odoo, the newest version; install the apps you need.</span>}
        />
        {templates.map((template) => (
          <ChoiceCard
            key={template.id}
            name="template"
            value={template.id}
            checked={value === template.id}
            onChange={() => onChange(template.id)}
            className="signup-card"
            title={
              <>
                <span>{template.name}</span>
                <span className="signup-version">Odoo {template.odooVersion}</span>
              </>
            }
            hint={template.description ? <span className="signup-card-text">{template.description}</span> : ''}
          />
        ))}
      </div>
    </fieldset>
  );
}
