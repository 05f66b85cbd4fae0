// Verify credentials with Digital Bazaar's verifier, as an outside party would.
//
// Reads JSON requests on stdin, one a line, and answers each with one line on
// stdout (so one process serves a whole test session):
//   {
//     "credential": {...},                  the credential to verify
//     "origin": "http://127.0.0.1:PORT",    the only server documents may come from
//     "resolver": "plain" | "did-io",       how DIDs are resolved (see below)
//     "documents": {"<url>": {...}}         optional: documents to trust as given
//   }
// answered with {"verified", "errors", "statusResult"}.
//
// Documents come from three places only: the contexts bundled with the pinned
// packages (and the published copies in tests/standards/contexts), the
// request's "documents", and `origin` (a loopback address) over plain HTTP.
// Everything else is refused, so a credential cannot pull in a context or key
// from elsewhere. The security v1/v2 contexts are there because
// jsonld-signatures frames a controller document that is not a DID document
// with them.
//
// did:web URLs are mapped to HTTPS URLs by the did:web method rules
// (Digital Bazaar's own `didUrlToHttpsUrl`); plain HTTP is allowed only when
// the host is `origin`'s loopback host. The two resolvers differ in who
// dereferences a DID URL's fragment:
//   plain   the loader fetches the DID document and picks the node whose id is
//           the DID URL, as any JSON-LD document loader would;
//   did-io  Digital Bazaar's did-io CachedResolver with a did:web driver picks
//           the verification method with `findVerificationMethod`.
import {createInterface} from 'node:readline';
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {CachedResolver, findVerificationMethod} from '@digitalbazaar/did-io';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {JsonLdDocumentLoader} from 'jsonld-document-loader';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import didContext from 'did-context';
import {didUrlToHttpsUrl} from '@digitalbazaar/did-method-web';
import multikeyContext from '@digitalbazaar/multikey-context';
import securityContext from '@digitalbazaar/security-context';

const STANDARDS = new URL('../standards/contexts/', import.meta.url);
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const MAX_BYTES = 1024 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The published contexts that no pinned package bundles. */
function publishedContexts() {
  const read = name => JSON.parse(
    readFileSync(fileURLToPath(new URL(name, STANDARDS)), 'utf8'));
  return new Map([
    ['https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
      read('ob-v3p0-context-3.0.3.json')],
    ['https://www.w3.org/ns/cid/v1', read('cid-v1.jsonld')],
  ]);
}

/** Every context the verifier may use, by URL (read once). */
const CONTEXTS = bundledContexts();

/** Collect the contexts of the pinned packages and the published copies. */
function bundledContexts() {
  const all = new Map();
  for(const source of [
    credentialsContexts, dataIntegrityContext.contexts,
    multikeyContext.contexts, didContext.contexts, securityContext.contexts,
    publishedContexts()
  ]) {
    for(const [url, context] of source) {
      all.set(url, context);
    }
  }
  return all;
}

/** Fetch JSON from `url`, which must be on `origin` (loopback, plain HTTP). */
async function fetchFromOrigin(url, origin) {
  const target = new URL(url);
  target.hash = '';
  if(target.origin !== origin) {
    throw new Error(`Refusing to load "${url}": only ${origin} is allowed.`);
  }
  const response = await fetch(target, {
    headers: {accept: 'application/ld+json, application/json'},
    redirect: 'error',
    signal: AbortSignal.timeout(10000),
  });
  if(!response.ok) {
    throw new Error(`GET ${target} answered ${response.status}.`);
  }
  const text = await response.text();
  if(text.length > MAX_BYTES) {
    throw new Error(`GET ${target} answered more than ${MAX_BYTES} bytes.`);
  }
  return JSON.parse(text);
}

/** Map a did:web DID URL to its DID document's URL, over HTTP on `origin` only. */
function didWebDocumentUrl(did, origin) {
  const {baseUrl} = didUrlToHttpsUrl(did);
  const url = new URL(baseUrl);
  const allowed = new URL(origin);
  if(url.host !== allowed.host) {
    throw new Error(`Refusing to resolve "${did}": only ${allowed.host} is allowed.`);
  }
  // did:web requires HTTPS; the test server is plain HTTP on loopback only.
  url.protocol = 'http:';
  return url.href;
}

/** Load the DID document of `did` and check it is the document of that DID. */
async function loadDidDocument(did, origin) {
  const [bareDid] = did.split(/(?=[?#])/);
  const document = await fetchFromOrigin(didWebDocumentUrl(did, origin), origin);
  if(document?.id !== bareDid) {
    throw new Error(
      `The DID document for "${bareDid}" has the id "${document?.id}".`);
  }
  return {bareDid, document};
}

/** Give a verification method node the context it is read in. */
function withContext(node, document) {
  return {
    '@context': node.type === 'Multikey' ? MULTIKEY_V1 : document['@context'],
    ...node,
  };
}

/** The plain did:web handler: the DID document, or the node a fragment names. */
function plainDidWeb(origin) {
  return {
    async get({url}) {
      if(!url.startsWith('did:web:')) {
        throw new Error(`Unsupported DID method in "${url}".`);
      }
      const {bareDid, document} = await loadDidDocument(url, origin);
      if(url === bareDid) {
        return document;
      }
      const nodes = Object.values(document).flat()
        .filter(value => value && typeof value === 'object');
      const node = nodes.find(value => value.id === url);
      if(!node) {
        throw new Error(`"${url}" is not in the DID document of ${bareDid}.`);
      }
      return withContext(node, document);
    }
  };
}

/** did-io's CachedResolver with a loopback did:web driver. */
function didIoResolver(origin) {
  const resolver = new CachedResolver();
  resolver.use({
    method: 'web',
    async get({did, url}) {
      const {bareDid, document} = await loadDidDocument(did || url, origin);
      const methodId = did || url;
      if(methodId === bareDid) {
        return document;
      }
      const node = findVerificationMethod({doc: document, methodId});
      if(!node) {
        throw new Error(`"${methodId}" is not a verification method of ${bareDid}.`);
      }
      return withContext(node, document);
    }
  });
  return resolver;
}

/** Build the document loader for one request. */
function documentLoader({origin, resolver, documents = {}}) {
  if(!LOOPBACK.has(new URL(origin).hostname)) {
    throw new Error(`Refusing origin ${origin}: only loopback addresses are allowed.`);
  }
  const loader = new JsonLdDocumentLoader();
  for(const [url, context] of CONTEXTS) {
    loader.addStatic(url, context);
  }
  for(const [url, document] of Object.entries(documents)) {
    loader.addStatic(url, document);
  }
  const http = {get: ({url}) => fetchFromOrigin(url, origin)};
  loader.setProtocolHandler({protocol: 'http', handler: http});
  loader.setDidResolver(
    resolver === 'did-io' ? didIoResolver(origin) : plainDidWeb(origin));
  return loader.build();
}

/** Every error message in a verification result, innermost causes included. */
function messages(error, found = []) {
  if(!error) {
    return found;
  }
  if(Array.isArray(error)) {
    error.forEach(item => messages(item, found));
    return found;
  }
  if(error.message && !found.includes(error.message)) {
    found.push(error.message);
  }
  messages(error.errors, found);
  messages(error.cause, found);
  return found;
}

/** A JSON view of a status check: verified, each entry's bit, and errors. */
function describeStatus(result) {
  if(!result) {
    return null;
  }
  return {
    verified: result.verified,
    results: (result.results || []).map(({credentialStatus, status}) => ({
      statusPurpose: credentialStatus?.statusPurpose,
      statusListIndex: credentialStatus?.statusListIndex,
      status,
    })),
    errors: messages(result.error),
  };
}

/** Verify the credential of one request with the verifier and the status checker. */
async function verifyRequest(request) {
  const loader = documentLoader(request);
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
  let statusResult = null;
  const result = await vc.verifyCredential({
    credential: request.credential,
    suite,
    documentLoader: loader,
    async checkStatus(options) {
      statusResult = await checkStatus(options);
      return statusResult;
    },
  });
  const errors = messages(result.error);
  for(const item of result.results || []) {
    messages(item.error, errors);
    messages(item.purposeResult?.error, errors);
  }
  return {
    verified: result.verified,
    errors,
    statusResult: describeStatus(statusResult),
  };
}

const lines = createInterface({input: process.stdin, crlfDelay: Infinity});
for await (const line of lines) {
  if(line.trim()) {
    let answer;
    try {
      answer = await verifyRequest(JSON.parse(line));
    } catch(error) {
      answer = {verified: false, errors: messages(error), statusResult: null};
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
}
