/**
 * cert-manager, emulated: issues the Certificates of `dist/<profile>/` with openssl into Secrets shaped as
 * cert-manager writes them (type kubernetes.io/tls, keys tls.crt, tls.key and ca.crt), following each
 * Certificate's issuerRef through the profile's Issuers: `selfSigned` signs with the certificate's own key
 * (ca.crt is the certificate itself), `ca` signs with the key of its `secretName` (ca.crt is that Secret's
 * tls.crt). An issuer the profile does not define (a user's ClusterIssuer) is stood in for by one CA generated
 * per run. What is taken from the Certificate: commonName, dnsNames, ipAddresses, usages, isCA, privateKey
 * (RSA size, PKCS1/PKCS8 encoding), duration. Not emulated: renewal timing, CertificateRequests, status
 * conditions, ECDSA/Ed25519 keys, the `secretTemplate` (labels only).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { KObject, Manifests } from './manifest';

/** A certificate as openssl files, for the harness's own checks. */
export interface IssuedFiles {
  dir: string;
  crt: string;
  key: string;
  ca: string;
}

interface CertSpec {
  secretName: string;
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usages?: string[];
  isCA?: boolean;
  duration?: string;
  privateKey?: { algorithm?: string; size?: number; encoding?: string };
  issuerRef: { name: string; kind?: string; group?: string };
}

const KEY_USAGES: Record<string, string> = {
  'digital signature': 'digitalSignature',
  'key encipherment': 'keyEncipherment',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
};
const EXT_USAGES: Record<string, string> = { 'server auth': 'serverAuth', 'client auth': 'clientAuth' };

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function days(duration: string | undefined): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration ?? '2160h');
  const hours = m ? Number(m[1] ?? 0) + Number(m[2] ?? 0) / 60 : 2160;
  return Math.max(1, Math.floor(hours / 24));
}

/** Emulates cert-manager for one profile's namespace; `dir` holds the keys (inside the run directory). */
export class CertManager {
  private readonly issued = new Map<string, IssuedFiles>();
  private readonly externalCas = new Map<string, IssuedFiles>();
  private serial = 1;

  constructor(
    private readonly manifests: Manifests,
    private readonly namespace: string,
    private readonly dir: string,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private certificates(): KObject[] {
    return this.manifests.objects.filter(
      (o) => o.kind === 'Certificate' && String(o.apiVersion).startsWith('cert-manager.io/'),
    );
  }

  private issuer(ref: CertSpec['issuerRef']): KObject | undefined {
    if ((ref.group ?? 'cert-manager.io') !== 'cert-manager.io') return undefined;
    const kind = ref.kind ?? 'Issuer';
    return this.manifests.objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata.name === ref.name &&
        (kind === 'ClusterIssuer' || o.metadata.namespace === this.namespace),
    );
  }

  /** Issues every Certificate whose issuer is ready, until all are; returns the Secrets cert-manager would write. */
  issueAll(): KObject[] {
    const pending = new Map(this.certificates().map((c) => [c.metadata.name as string, c]));
    for (let progress = true; pending.size > 0 && progress;) {
      progress = false;
      for (const [name, cert] of pending) {
        if (this.issue(cert)) {
          pending.delete(name);
          progress = true;
        }
      }
    }
    if (pending.size > 0)
      throw new Error(`cert-manager (e2e): cannot issue ${[...pending.keys()].join(', ')}`);
    return this.certificates().map((c) => this.secretOf(c));
  }

  /** Issues one Certificate again (a renewal: a new key, rotationPolicy Always) and returns its new Secret. */
  renew(name: string): KObject {
    const cert = this.certificates().find((c) => c.metadata.name === name);
    if (!cert) throw new Error(`cert-manager (e2e): no Certificate ${name}`);
    if (!this.issue(cert)) throw new Error(`cert-manager (e2e): cannot renew ${name}`);
    return this.secretOf(cert);
  }

  /** The files of an issued Certificate, by its Secret name. */
  files(secretName: string): IssuedFiles {
    const f = this.issued.get(secretName);
    if (!f) throw new Error(`cert-manager (e2e): nothing issued into Secret ${secretName}`);
    return f;
  }

  /** A CA that signed none of the profile's certificates (for negative checks). */
  foreignCa(name = 'foreign-ca'): IssuedFiles {
    return this.newCa(name, `/CN=e2e ${name} (signed nothing of this profile)`);
  }

  /** A certificate for `commonName` signed by `ca` (e.g. a client certificate from a foreign CA). */
  signedBy(ca: IssuedFiles, name: string, spec: Partial<CertSpec>): IssuedFiles {
    return this.write(name, { secretName: name, issuerRef: { name: 'none' }, ...spec }, ca);
  }

  private newCa(name: string, subject: string): IssuedFiles {
    const dir = path.join(this.dir, name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    openssl(['genrsa', '-traditional', '-out', 'tls.key', '2048'], dir);
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'tls.key',
        '-subj',
        subject,
        '-days',
        '3650',
        '-out',
        'tls.crt',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    fs.copyFileSync(path.join(dir, 'tls.crt'), path.join(dir, 'ca.crt'));
    return {
      dir,
      crt: path.join(dir, 'tls.crt'),
      key: path.join(dir, 'tls.key'),
      ca: path.join(dir, 'ca.crt'),
    };
  }

  /** Issues `cert` if its issuer can sign now; false if the issuer is not ready yet. */
  private issue(cert: KObject): boolean {
    const spec = cert.spec as CertSpec;
    const issuer = this.issuer(spec.issuerRef) as
      (KObject & { spec?: { selfSigned?: object; ca?: { secretName?: string } } }) | undefined;
    let signer: IssuedFiles | 'self';
    if (!issuer) {
      const key = `${spec.issuerRef.group ?? 'cert-manager.io'}/${spec.issuerRef.kind ?? 'Issuer'}/${spec.issuerRef.name}`;
      if (!this.externalCas.has(key))
        this.externalCas.set(
          key,
          this.newCa(`external-${this.externalCas.size}`, `/CN=e2e stand-in for ${key}`),
        );
      signer = this.externalCas.get(key)!;
    } else if (issuer.spec?.selfSigned) {
      signer = 'self';
    } else if (issuer.spec?.ca?.secretName) {
      const ca = this.issued.get(issuer.spec.ca.secretName);
      if (!ca) return false;
      signer = ca;
    } else {
      throw new Error(`cert-manager (e2e): issuer ${issuer.metadata.name} is neither selfSigned nor ca`);
    }
    this.write(spec.secretName, spec, signer);
    return true;
  }

  private write(secretName: string, spec: CertSpec, signer: IssuedFiles | 'self'): IssuedFiles {
    const dir = path.join(this.dir, secretName);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pk = spec.privateKey ?? {};
    if ((pk.algorithm ?? 'RSA') !== 'RSA') throw new Error(`cert-manager (e2e): only RSA keys are emulated`);
    openssl(
      [
        'genrsa',
        ...(pk.encoding === 'PKCS8' ? [] : ['-traditional']),
        '-out',
        'tls.key',
        String(pk.size ?? 2048),
      ],
      dir,
    );
    const usages = spec.usages ?? ['digital signature', 'key encipherment'];
    const ku = usages.filter((u) => KEY_USAGES[u]).map((u) => KEY_USAGES[u]);
    const eku = usages.filter((u) => EXT_USAGES[u]).map((u) => EXT_USAGES[u]);
    const san = [
      ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`),
      ...(spec.ipAddresses ?? []).map((i) => `IP:${i}`),
    ];
    const ext = [
      '[ext]',
      `basicConstraints=critical,CA:${spec.isCA ? 'TRUE' : 'FALSE'}`,
      ...(ku.length ? [`keyUsage=critical,${ku.join(',')}`] : []),
      ...(eku.length ? [`extendedKeyUsage=${eku.join(',')}`] : []),
      ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
      'subjectKeyIdentifier=hash',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'ext.cnf'), ext);
    const subject = spec.commonName ? `/CN=${spec.commonName}` : '/';
    openssl(['req', '-new', '-key', 'tls.key', '-subj', subject, '-out', 'req.csr'], dir);
    const serial = String(this.serial++);
    const common = [
      '-in',
      'req.csr',
      '-days',
      String(days(spec.duration)),
      '-set_serial',
      serial,
      '-extfile',
      'ext.cnf',
      '-extensions',
      'ext',
      '-out',
      'tls.crt',
    ];
    if (signer === 'self') {
      openssl(['x509', '-req', '-signkey', 'tls.key', ...common], dir);
      fs.copyFileSync(path.join(dir, 'tls.crt'), path.join(dir, 'ca.crt'));
    } else {
      openssl(['x509', '-req', '-CA', signer.crt, '-CAkey', signer.key, ...common], dir);
      fs.copyFileSync(signer.crt, path.join(dir, 'ca.crt'));
    }
    fs.rmSync(path.join(dir, 'req.csr'));
    const files = {
      dir,
      crt: path.join(dir, 'tls.crt'),
      key: path.join(dir, 'tls.key'),
      ca: path.join(dir, 'ca.crt'),
    };
    this.issued.set(secretName, files);
    return files;
  }

  private secretOf(cert: KObject): KObject {
    const spec = cert.spec as CertSpec & { secretTemplate?: { labels?: Record<string, string> } };
    const f = this.files(spec.secretName);
    const b64 = (file: string) => fs.readFileSync(file).toString('base64');
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: spec.secretName,
        namespace: this.namespace,
        labels: spec.secretTemplate?.labels,
      },
      data: { 'tls.crt': b64(f.crt), 'tls.key': b64(f.key), 'ca.crt': b64(f.ca) },
    };
  }
}
