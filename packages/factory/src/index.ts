// The factory package is built in issue 4; until then it exports nothing.
export {};
