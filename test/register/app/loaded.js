// @stepmark
export function greet() {
  return __PLACEHOLDER__;
}
