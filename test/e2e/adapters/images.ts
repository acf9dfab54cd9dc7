/**
 * What the adapters share about their image emulations: preparing the image layers from
 * test/e2e/images/<name>/rootfs, and the image configs (ENTRYPOINT, CMD, env, user, directories) of the official
 * `mysql` image and the `percona/percona-xtrabackup` image, which differ between versions only in the values
 * passed here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import type { ImageConfig } from './types';
import { buildView, Inventory, inventoryFor, loadInventories } from '../lib/inventory';

export const IMAGES_DIR = path.join(__dirname, '..', 'images');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The directories every image layer has, whether its rootfs holds files there or not. */
const LAYER_DIRS = ['usr/local/bin', 'usr/local/sbin', 'etc/mysql/conf.d', 'usr/bin', 'usr/sbin', 'etc'];

/** How to build an adapter's image layers. */
export interface LayerOptions {
  /** `chmod -R` mode applied to each layer after `chown -R 0:0`. */
  chmod: string;
  /** Further directories to create in each layer. */
  extraDirs?: string[];
  /** Files to copy into each layer: path inside the layer -> source file. */
  files?: Record<string, string>;
}

/** The image layers of one adapter, copied below a run's directory and owned by root. */
export class ImageLayers {
  private layers = new Map<string, string>();

  constructor(private readonly options: LayerOptions) {}

  /** Copies images/<name>/rootfs to <dir>/<name> for every name. */
  prepare(dir: string, names: string[]): void {
    for (const name of names) {
      const target = path.join(dir, name);
      execFileSync('cp', ['-a', path.join(IMAGES_DIR, name, 'rootfs'), target]);
      for (const sub of [...LAYER_DIRS, ...(this.options.extraDirs ?? [])]) {
        fs.mkdirSync(path.join(target, sub), { recursive: true });
      }
      for (const [dest, src] of Object.entries(this.options.files ?? {})) {
        fs.copyFileSync(src, path.join(target, dest));
      }
      execFileSync('chown', ['-R', '0:0', target]);
      execFileSync('chmod', ['-R', this.options.chmod, target]);
      this.layers.set(name, target);
    }
  }

  /** The prepared layer of image `name`. */
  get(name: string): string {
    const layer = this.layers.get(name);
    if (!layer) throw new Error(`image layers not prepared (call prepare first)`);
    return layer;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `ref` names the official `mysql:<version>` image (optionally as docker.io/library/mysql). */
export const isOfficialMysqlRef = (ref: string, version: string) =>
  new RegExp(`^(docker\\.io\\/)?(library\\/)?mysql:${escapeRe(version)}(\\b|$)`).test(ref);

/** Whether `ref` names `percona/percona-xtrabackup:<version>` (optionally on docker.io). */
export const isPerconaXtrabackupRef = (ref: string, version: string) =>
  new RegExp(`^(docker\\.io\\/)?percona\\/percona-xtrabackup:${escapeRe(version)}(\\b|$)`).test(ref);

/**
 * The official mysql image's config: docker-entrypoint.sh with CMD mysqld as root, MYSQL_MAJOR, and the
 * directories its Dockerfile creates for the mysql user (999); `mysqlFilesMode` is /var/lib/mysql-files' mode.
 */
export function officialMysqlImage(
  ref: string,
  layer: string,
  view: string,
  major: string,
  mysqlFilesMode: string,
): ImageConfig {
  return {
    ref,
    layer,
    view,
    opaqueDirs: ['/usr/local', '/etc/mysql'],
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['mysqld'],
    env: { PATH, MYSQL_MAJOR: major },
    workingDir: '/',
    user: { uid: 0, gid: 0 },
    dirs: [
      { path: '/var/lib/mysql', mode: '1777', uid: 999, gid: 999 },
      { path: '/var/run/mysqld', mode: '1777', uid: 999, gid: 999 },
      { path: '/var/lib/mysql-files', mode: mysqlFilesMode, uid: 999, gid: 999 },
    ],
  };
}

/**
 * The percona-xtrabackup image's config: CMD xtrabackup, user 1001. The 8.x image's ENTRYPOINT (a telemetry
 * call-home script) is not emulated: every container here replaces it with `command:`.
 */
export function perconaXtrabackupImage(ref: string, layer: string, view: string): ImageConfig {
  return {
    ref,
    layer,
    view,
    opaqueDirs: ['/usr/local', '/etc/mysql'],
    entrypoint: [],
    cmd: ['/usr/bin/xtrabackup'],
    env: { PATH },
    workingDir: '/',
    user: { uid: 1001, gid: 1001 },
    dirs: [],
  };
}

/** Whether `ref` names prom/mysqld-exporter (Docker Hub or quay.io/prometheus) at `version`. */
export const isMysqldExporterRef = (ref: string, version: string) =>
  new RegExp(
    `^((docker\\.io\\/)?prom|quay\\.io\\/prometheus)\\/mysqld-exporter:${escapeRe(version)}(@sha256:[a-f0-9]{64})?$`,
  ).test(ref);

/** The layer of the mysqld_exporter image emulation (images/mysqld-exporter/rootfs). */
export const MYSQLD_EXPORTER_LAYER = 'mysqld-exporter';

/**
 * prom/mysqld-exporter's image config (prometheus/mysqld_exporter Dockerfile at v0.20.0, commit 11da31c961d3):
 * ENTRYPOINT ["/bin/mysqld_exporter"], no CMD, USER nobody (65534), WORKDIR unset (/). Its busybox base is not
 * emulated: the container sees the host's Debian /usr below the shim (see the e2e README).
 */
export function mysqldExporterImage(ref: string, layer: string, view: string): ImageConfig {
  return {
    ref,
    layer,
    view,
    opaqueDirs: ['/usr/local'],
    entrypoint: ['/bin/mysqld_exporter'],
    cmd: [],
    env: { PATH },
    workingDir: '/',
    user: { uid: 65534, gid: 65534 },
    dirs: [],
  };
}

/** The two images an adapter emulates: the official mysql image and the percona-xtrabackup image. */
export interface MysqlImagesSpec {
  /** The adapter's name, for the error about an image it does not emulate. */
  adapter: string;
  /** images/<layer> holds the image's rootfs; `version` is the tag, also MYSQL_MAJOR. */
  mysql: { layer: string; version: string; mysqlFilesMode: string };
  xtrabackup: { layer: string; version: string };
  layers: LayerOptions;
}

/** The image half of a FlavorAdapter: `prepare` builds the layers, `image` maps an image reference to its config. */
export abstract class MysqlImagesAdapter {
  private readonly layers: ImageLayers;
  private dir?: string;
  private readonly views = new Map<string, string>();
  private inventories = loadInventories();

  constructor(private readonly images: MysqlImagesSpec) {
    this.layers = new ImageLayers(images.layers);
  }

  prepare(dir: string): void {
    this.dir = dir;
    this.layers.prepare(dir, [this.images.mysql.layer, this.images.xtrabackup.layer, MYSQLD_EXPORTER_LAYER]);
  }

  /** Replaces the inventory of `image` for this adapter (the image-inventory negative control). */
  overrideInventory(image: string, change: (inv: Inventory) => Inventory): void {
    this.inventories = this.inventories.map((i) => (i.image === image ? change(i) : i));
  }

  /** The executable view of `ref` (test/e2e/inventories), built once per run. */
  private view(ref: string, layer: string): string {
    const inv = inventoryFor(ref, this.inventories);
    let view = this.views.get(inv.image);
    if (!view) {
      if (!this.dir) throw new Error('image layers not prepared (call prepare first)');
      view = path.join(this.dir, 'views', inv.image.replace(/[^\w.-]+/g, '_'));
      buildView(inv, layer, view);
      this.views.set(inv.image, view);
    }
    return view;
  }

  image(ref: string): ImageConfig {
    const { mysql, xtrabackup } = this.images;
    if (isOfficialMysqlRef(ref, mysql.version)) {
      const layer = this.layers.get(mysql.layer);
      return officialMysqlImage(ref, layer, this.view(ref, layer), mysql.version, mysql.mysqlFilesMode);
    }
    if (isPerconaXtrabackupRef(ref, xtrabackup.version)) {
      const layer = this.layers.get(xtrabackup.layer);
      return perconaXtrabackupImage(ref, layer, this.view(ref, layer));
    }
    // The monitoring sidecar (both profiles): the pinned exporter version, emulated by Debian's 0.14.0.
    if (isMysqldExporterRef(ref, 'v0.20.0')) {
      const layer = this.layers.get(MYSQLD_EXPORTER_LAYER);
      return mysqldExporterImage(ref, layer, this.view(ref, layer));
    }
    throw new Error(`the ${this.images.adapter} adapter does not emulate image ${ref}`);
  }
}
