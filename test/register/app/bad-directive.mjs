// @stepmark
export function f() {
  return 1;
}

/** @stepmark kind=order */
export function g() {
  return 2;
}
