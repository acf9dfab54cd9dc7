/**
 * The flavor adapter: everything that depends on the images and the database flavor of a profile lives behind
 * this interface, so the kubelet, the controller and the scenario stay generic. A profile maps to one adapter
 * (see ./index.ts).
 */

import type { EnvVar } from '../lib/manifest';
import type { Inventory } from '../lib/inventory';

/** A directory the image creates outside /usr and /etc (for example /var/run/mysqld). */
export interface ImageDir {
  path: string;
  /** octal mode, e.g. "1777" */
  mode: string;
  uid: number;
  gid: number;
}

/** How the harness emulates one container image on top of the host's Debian user land. */
export interface ImageConfig {
  /** The reference as written in the manifest. */
  ref: string;
  /** Absolute path of the image's layer (a root file system fragment), laid over the host's /usr and /etc. */
  layer: string;
  /**
   * The image's executables (lib/inventory.ts buildView): `<view>/usr/bin` and `<view>/usr/sbin` link the host
   * binaries its inventory lists; with the layer's shims they are all the container's /usr/bin and /usr/sbin hold.
   */
  view: string;
  /** Directories where only the layer's content is visible (the host's content is hidden), e.g. /usr/local. */
  opaqueDirs: string[];
  /** Image ENTRYPOINT and CMD (Kubernetes `command` replaces the first, `args` the second). */
  entrypoint: string[];
  cmd: string[];
  /** Image ENV. */
  env: Record<string, string>;
  /** Image WORKDIR. */
  workingDir: string;
  /** Image USER (used when the securityContext sets none). */
  user: { uid: number; gid: number };
  /** Directories the image creates (outside the layered /usr and /etc). */
  dirs: ImageDir[];
}

/** Evidence about one server's replication, flavor independent. */
export interface ReplicaStatus {
  configured: boolean;
  sourceHost?: string;
  ioRunning?: string;
  sqlRunning?: string;
  sourceLogFile?: string;
  readSourceLogPos?: number;
  execSourceLogPos?: number;
  lastError?: string;
  /** Every field of the status output, as the server named it. */
  fields?: Record<string, string>;
}

/** A Secret the user creates by hand before applying the profile (`kubectl create secret generic …`). */
export interface UserSecret {
  name: string;
  keys: string[];
  /** Characters a key's value may not contain (a documented limit of the profile), by key. */
  forbidden?: Record<string, string>;
}

/** Image and database specifics of a profile. */
export interface FlavorAdapter {
  /** e.g. "mysql57 (MySQL 5.7 + XtraBackup 2.4 emulated on MariaDB 10.11)" */
  readonly description: string;
  /** The image used for the `kubectl run mysql-client` steps of the walkthrough. */
  readonly clientImage: string;
  /** Materializes the image layers into `dir` (once per run). */
  prepare(dir: string): void;
  /** The emulation of an image reference; throws for an image it does not know. */
  image(ref: string): ImageConfig;
  /** Replaces the inventory of `image` for this run (the negative controls); before the first `image` call. */
  overrideInventory?(image: string, change: (inv: Inventory) => Inventory): void;
  /** Client argv (run inside a client container) that prints the replication status of `host` as text. */
  replicaStatusQuery(host: string): string[];
  /** Parses the output of {@link replicaStatusQuery}. */
  parseReplicaStatus(output: string): ReplicaStatus;
  /** The server error a write on a read-only replica must fail with, e.g. /ERROR 1290/. */
  readonly readOnlyError: RegExp;
  /** The client command line for running SQL against `host` (without -e), e.g. ["mysql", "-h", host]. */
  client(host: string): string[];
  /** Secrets the profile expects the user to have created (the harness generates them per run). */
  readonly userSecrets?: UserSecret[];
  /** Extra env of the client pod's container (e.g. a password from a Secret). */
  readonly clientEnv?: EnvVar[];
}
