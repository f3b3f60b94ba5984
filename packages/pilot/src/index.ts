// The pilot package is built in issue 3; until then it exports nothing.
export {};
