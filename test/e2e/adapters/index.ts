/** Maps a profile name to its flavor adapter. */
import type { FlavorAdapter } from './types';
import { Mysql57Adapter } from './mysql57';
import { Mysql84Adapter } from './mysql84';

/** The adapter for a profile; a new profile (e.g. production, MySQL 8.4) registers its adapter here. */
export function adapterFor(profile: string): FlavorAdapter {
  switch (profile) {
    case 'workshop':
      return new Mysql57Adapter();
    case 'production':
      return new Mysql84Adapter();
    default:
      throw new Error(
        `no e2e flavor adapter for profile '${profile}' (known: workshop, production); add one in test/e2e/adapters/`,
      );
  }
}
