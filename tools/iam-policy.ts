/**
 * Prints the least-privilege IAM policy for a profile's backup role (charts/backup-iam.ts), as JSON.
 *
 *   npm run iam-policy -- production            the policy document
 *   aws iam put-role-policy --role-name mysql-production-backup --policy-name mysql-backups \
 *     --policy-document "$(npm run --silent iam-policy -- production)"
 */
import { backupIamPolicy } from '../charts/backup-iam';
import { PROFILES } from '../charts/profiles';
import { validateConfig } from '../charts/config';

const name = process.argv[2];
const profile = name === undefined ? undefined : PROFILES[name];
if (!profile) {
  process.stderr.write(
    `usage: npm run iam-policy -- <profile>; profiles: ${Object.keys(PROFILES).join(', ')}\n`,
  );
  process.exit(2);
}
try {
  process.stdout.write(JSON.stringify(backupIamPolicy(validateConfig(profile)), null, 2) + '\n');
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(1);
}
