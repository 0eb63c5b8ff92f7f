import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { signupOfferQuery } from './api';

/** The login page's way to the sign-up form, shown only while sign-up is open. */
export function CreateAccountLink() {
  const offer = useQuery(signupOfferQuery());
  if (!offer.data) return null;
  return (
    <p className="auth-footnote">
      New here? <Link to="/signup">Create an account</Link>
    </p>
  );
}
