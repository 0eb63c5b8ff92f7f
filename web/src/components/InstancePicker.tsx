import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  type CSSProperties,
  type KeyboardEvent,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { errorMessage } from '../api/errors';
import { limits } from '../api/limits';
import { instanceQuery, instanceSearchQuery, organizationsQuery } from '../api/queries';
import type { Instance } from '../api/types';
import { stageLabel } from '../operate';
import { SearchIcon } from './icons';
import { useDebounced } from './logs/useDebounced';
import '../styles/instance-picker.css';

/** Typing settles this long before the API is asked: one request per pause, not per key. */
const SEARCH_DEBOUNCE_MS = 200;
const POPUP_MIN_WIDTH = 280;
/** Below the field unless there is less room than this there and more above it. */
const POPUP_ROOM = 240;

/**
 * Where the list goes: fixed to the viewport under its field, as the cards, tables and dialogs
 * around a picker clip what overflows them (a fixed box escapes that; a portal could not leave a
 * modal <dialog>, which sits above the rest of the page).
 */
function popupPlace(field: HTMLElement): CSSProperties {
  const box = field.getBoundingClientRect();
  const width = Math.max(box.width, POPUP_MIN_WIDTH);
  const left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8));
  const below = window.innerHeight - box.bottom;
  if (below < POPUP_ROOM && box.top > below)
    return { left, width, bottom: window.innerHeight - box.top + 4, maxHeight: box.top - 12 };
  return { left, width, top: box.bottom + 4, maxHeight: below - 12 };
}

export interface InstancePickerProps {
  /** The chosen instance's id; '' for none. */
  value: string;
  onChange(id: string, instance: Instance | null): void;
  /** The input's id, for the `<label htmlFor>` (or the Field) that names it. */
  id: string;
  'aria-describedby'?: string | undefined;
  'aria-invalid'?: boolean;
  /** Only this organization's instances: the API narrows them, so every match offered is one of its own. */
  organization?: string | undefined;
  /** Which matches may be chosen (an Odoo version, a status, a permission); the others are not offered. */
  accept?: (instance: Instance) => boolean;
  /** For a filter: choosing none, offered first ("All instances"). Without it an instance must be chosen. */
  noneLabel?: string;
  placeholder?: string;
  disabled?: boolean;
}

interface Option {
  id: string;
  instance: Instance | null;
}

/**
 * A text field that finds an instance by part of its name (ARIA combobox with a listbox): it asks
 * the API for at most 20 matches as the typing pauses, never for every instance. The chosen
 * instance shows by name, fetched by id when only the id is known (from the page's address).
 */
export function InstancePicker({
  value,
  onChange,
  id,
  organization,
  accept,
  noneLabel,
  placeholder,
  disabled,
  ...aria
}: InstancePickerProps) {
  const queryClient = useQueryClient();
  const listId = useId();
  const listRef = useRef<HTMLDivElement>(null);
  const fieldRef = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState(false);
  const [place, setPlace] = useState<CSSProperties>({});
  // What the user typed since the list opened; null shows the chosen instance's name instead.
  const [typed, setTyped] = useState<string | null>(null);
  const [active, setActive] = useState(-1);
  // The option just chosen, shown while `value` is still the one it was chosen over: a page that
  // keeps `value` in its address gets it in a transition, after the list has closed, and the field
  // must not blank out meanwhile. Any change of `value` ends it.
  const [picked, setPicked] = useState<{ option: Option; over: string } | null>(null);
  const search = useDebounced((typed ?? '').trim(), SEARCH_DEBOUNCE_MS);

  const selected = useQuery({ ...instanceQuery(value), enabled: Boolean(value) });
  const results = useQuery({
    ...instanceSearchQuery({ search, organization }),
    enabled: open,
    // The previous matches stay while the next ones come: the list does not blink at each key.
    placeholderData: keepPreviousData,
  });
  const organizations = useQuery({ ...organizationsQuery(), enabled: open });
  const organizationName = useMemo(
    () => new Map((organizations.data ?? []).map((o) => [o.id, o.name])),
    [organizations.data],
  );

  const term = (typed ?? '').trim().toLowerCase();
  // Until the answer for what is typed now comes, the last one is narrowed here by name: Enter
  // right after typing never picks an instance that does not match.
  const stale = results.isPlaceholderData || search.toLowerCase() !== term;
  const matches = (results.data?.instances ?? []).filter(
    (i) => (!accept || accept(i)) && (!stale || i.name.toLowerCase().includes(term)),
  );
  const options: Option[] = [
    ...(noneLabel && !typed ? [{ id: '', instance: null }] : []),
    ...matches.map((instance) => ({ id: instance.id, instance })),
  ];
  const current = Math.min(active, options.length - 1);
  const optionId = (index: number) => `${listId}-${index}`;

  useLayoutEffect(() => {
    if (!open) return;
    const follow = () => {
      if (fieldRef.current) setPlace(popupPlace(fieldRef.current));
    };
    follow();
    // The list stays under its field when anything scrolls (the page, a dialog) or the window resizes.
    window.addEventListener('scroll', follow, true);
    window.addEventListener('resize', follow);
    return () => {
      window.removeEventListener('scroll', follow, true);
      window.removeEventListener('resize', follow);
    };
  }, [open]);

  useEffect(() => {
    if (current < 0) return;
    listRef.current?.querySelector(`[data-index="${current}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [current]);

  useEffect(() => {
    setPicked((chosen) => (chosen && chosen.over !== value ? null : chosen));
  }, [value]);

  const waiting = picked && picked.over === value ? picked.option : null;
  const chosenName = waiting ? (waiting.instance?.name ?? '') : value ? (selected.data?.name ?? '') : '';
  const shownPlaceholder = (waiting ? waiting.id : value)
    ? !waiting && selected.isError
      ? 'Unknown instance'
      : 'Loading…'
    : (placeholder ?? noneLabel ?? 'Search instances');

  function openList() {
    if (open) return;
    setOpen(true);
    setTyped(null);
    setPicked(null);
    // Opened without typing: the chosen one is where the keys start from.
    setActive(-1);
  }

  function close() {
    setOpen(false);
    setTyped(null);
    setActive(-1);
  }

  function choose(option: Option) {
    // The name shows at once, with no second request for the instance just chosen.
    if (option.instance) queryClient.setQueryData(instanceQuery(option.id).queryKey, option.instance);
    close();
    if (option.id === value) return;
    setPicked({ option, over: value });
    onChange(option.id, option.instance);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open) return openList();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive(Math.max(0, Math.min(options.length - 1, current + step)));
    } else if (event.key === 'Enter') {
      if (!open) return;
      // Enter chooses here; it must not submit the form around the picker.
      event.preventDefault();
      const option = options[current];
      if (option) choose(option);
      else if (noneLabel && typed?.trim() === '') choose({ id: '', instance: null });
    } else if (event.key === 'Escape' && open) {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  }

  const more = results.data?.nextCursor != null;
  let note: string | null = null;
  if (results.error) note = errorMessage(results.error);
  else if (!results.data || (stale && matches.length === 0)) note = 'Searching…';
  else if (matches.length === 0)
    note = term
      ? `No ${accept ? 'fitting ' : ''}instance matches “${(typed ?? '').trim()}”.`
      : `No ${accept ? 'fitting ' : ''}instance to choose.`;
  else if (more && !stale)
    note = term
      ? 'More match: type more of the name to narrow them.'
      : 'The newest: type part of a name to find any other.';

  return (
    <div className={`instance-picker${open ? ' instance-picker-open' : ''}`}>
      <SearchIcon className="instance-picker-icon" width={16} height={16} />
      <input
        {...aria}
        ref={fieldRef}
        id={id}
        type="text"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && current >= 0 ? optionId(current) : undefined}
        autoComplete="off"
        spellCheck={false}
        maxLength={limits.instanceSearch.maxLength}
        disabled={disabled}
        placeholder={shownPlaceholder}
        value={typed ?? chosenName}
        onFocus={(e) => e.target.select()}
        onClick={openList}
        onChange={(e) => {
          if (!open) setOpen(true);
          setTyped(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
        onBlur={close}
      />
      <div className="instance-picker-popup" hidden={!open} style={place}>
        <div ref={listRef} id={listId} role="listbox" aria-label="Matching instances" className="instance-picker-list">
          {open
            ? options.map((option, index) => (
                // biome-ignore lint/a11y/useKeyWithClickEvents: the keys are the input's, which points at the active option.
                <div
                  key={option.id || 'none'}
                  id={optionId(index)}
                  role="option"
                  // Never focused itself: the keys stay in the input, which points here (aria-activedescendant).
                  tabIndex={-1}
                  aria-selected={option.id === value}
                  data-index={index}
                  className={`instance-option${index === current ? ' instance-option-active' : ''}`}
                  // Keeps the focus in the input, so choosing does not blur (and close) first.
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => choose(option)}
                  onMouseEnter={() => setActive(index)}
                >
                  {option.instance ? (
                    <>
                      <span className="instance-option-name">{option.instance.name}</span>
                      <span className="instance-option-meta">
                        {[organizationName.get(option.instance.organizationId), stageLabel[option.instance.stage]]
                          .filter(Boolean)
                          .join(' · ')}
                      </span>
                    </>
                  ) : (
                    <span className="instance-option-name">{noneLabel}</span>
                  )}
                </div>
              ))
            : null}
        </div>
        {open && note ? (
          <p className="instance-picker-note" role="status">
            {note}
          </p>
        ) : null}
      </div>
    </div>
  );
}
