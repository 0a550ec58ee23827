'use strict';
// Certificates made at test time with the openssl command line: a private CA, a server
// certificate for 127.0.0.1 and a client certificate, both signed by it (EC P-256, one day).

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
}

/** One key and a certificate signed by the CA in `dir` (ca.pem, ca.key), with `ext` lines. */
function signed(dir, name, cn, ext) {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext.join('\n') + '\n');
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-days', '1', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/**
 * makeCerts(dir, prefix='') → {dir, ca, caKey, serverKey, serverCert, clientKey, clientCert}:
 * file paths; `prefix` names a second, unrelated CA in the same folder.
 */
function makeCerts(dir, prefix = '') {
  const d = path.join(dir, `${prefix}pki`);
  fs.mkdirSync(d, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', `/CN=spindle test CA ${prefix}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d);
  signed(d, 'server', '127.0.0.1', ['basicConstraints=CA:FALSE', 'subjectAltName=IP:127.0.0.1',
    'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth']);
  signed(d, 'client', 'spindle-test-client', ['basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth']);
  const p = (f) => path.join(d, f);
  return {
    dir: d, ca: p('ca.pem'), caKey: p('ca.key'), serverKey: p('server.key'), serverCert: p('server.pem'),
    clientKey: p('client.key'), clientCert: p('client.pem'),
  };
}

module.exports = { makeCerts };
