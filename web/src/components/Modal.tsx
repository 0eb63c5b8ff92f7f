import { type ReactNode, useEffect, useId, useRef } from 'react';

interface ModalProps {
  title: string;
  description?: ReactNode;
  onClose(): void;
  children: ReactNode;
  width?: 'narrow' | 'wide';
}

/** A native <dialog>: the browser traps focus, closes on Escape and hides the page from screen readers. */
export function Modal({ title, description, onClose, children, width = 'narrow' }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    dialog.showModal();
    // The browser would focus the close button first; the first field is where the user wants to type.
    dialog.querySelector<HTMLElement>('.modal-body input:not([readonly]), .modal-body select')?.focus();
    const cancel = (event: Event) => {
      event.preventDefault();
      closeRef.current();
    };
    dialog.addEventListener('cancel', cancel);
    return () => {
      dialog.removeEventListener('cancel', cancel);
      dialog.close();
    };
  }, []);

  return (
    <dialog ref={ref} className={`modal modal-${width}`} aria-labelledby={titleId}>
      <header className="modal-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      {description ? <p className="modal-description">{description}</p> : null}
      <div className="modal-body">{children}</div>
    </dialog>
  );
}
