import { packageVersion } from '@docker-cernvm/cli-kit';

/** The factory's own version, from its package.json (which sits beside src/ and dist/ alike). */
export const FACTORY_VERSION = packageVersion(new URL('../package.json', import.meta.url));
