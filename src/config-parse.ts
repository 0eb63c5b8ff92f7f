/** Parsers shared by the config files: each returns undefined for a value it refuses. */
export const integer = (min: number, max: number) => (raw: string) => {
  if (!/^\d+$/.test(raw.trim())) return undefined;
  const value = Number(raw.trim());
  return value >= min && value <= max ? value : undefined;
};
