/**
 * Constants and helpers of the monitoring config (`MysqlStackConfig.monitoring`, whose schema is in
 * `config.ts` with the others). Imports nothing at run time, so `config.ts` can use it.
 */

/**
 * The pinned mysqld_exporter image: prometheus/mysqld_exporter v0.20.0 (tag of commit
 * 11da31c961d37eab296c48ab50c38c3bdff8e2e3; its Dockerfile: busybox base, `/bin/mysqld_exporter` as
 * ENTRYPOINT, USER nobody, EXPOSE 9104).
 */
export const DEFAULT_EXPORTER_IMAGE = 'prom/mysqld-exporter:v0.20.0';

const GITHUB_REPO = /^https:\/\/github\.com\/([\w.-]+)\/([\w.-]+?)(\.git)?\/?$/;

/** The README URL of a GitHub repository's branch, or undefined for another host. */
export function githubReadme(repoURL: string, revision: string): string | undefined {
  const m = GITHUB_REPO.exec(repoURL);
  return m ? `https://github.com/${m[1]}/${m[2]}/blob/${revision}/README.md` : undefined;
}
