export function helper(x) {
  return x + 1;
}

export function boom() {
  const detail = 'thrown from line 6';
  throw new Error(detail);
}
