// The e2e projects type-check against this minimal declaration of the API they use, so the
// build does not depend on whether dist/ currently holds declaration files.
declare module 'stepmark' {
  export function step(action: string, meta?: Record<string, unknown>): void;
  export function scope(kind: string): {
    step(entityId: string, action: string, meta?: Record<string, unknown>): void;
    enter(entityId: string, meta?: Record<string, unknown>): () => void;
  };
}
