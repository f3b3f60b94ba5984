/** Where the mounter tells a person what it is doing; the library is silent unless given one. */
export interface Reporter {
  /** Runs one visible step: `label …ok`, or `label …failed`. */
  step<T>(label: string, action: () => Promise<T>): Promise<T>;
}

export const silentReporter: Reporter = {
  step: (_label, action) => action(),
};
