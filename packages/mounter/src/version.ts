import { packageVersion } from '@docker-cernvm/cli-kit';

/** This package's version, from its package.json (which sits beside src/ and dist/ alike). */
export const MOUNTER_VERSION = packageVersion(new URL('../package.json', import.meta.url));
