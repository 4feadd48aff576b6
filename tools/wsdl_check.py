#!/usr/bin/env python3
"""Sluice's WSDL conformance check: SOAP envelopes against the WSDLs in tests/wsdl/.

    wsdl_check.py MANIFEST [--wsdl-dir DIR]
    wsdl_check.py --probe [--wsdl-dir DIR]

MANIFEST is UTF-8, one message a line, six tab-separated fields:

    direction  service  operation  expect  file  name

  direction  'request' or 'response'
  service    a WSDL of the directory without '.wsdl' (wusp-client, wsusss-serversync, ...)
  operation  an operation of the service's SOAP binding (GetConfig, GetUpdateData, ...)
  expect     'valid'            the message fits the WSDL;
             'fault:<code>'     a response that is a SOAP fault whose detail ErrorCode is <code>;
             'refused:<text>'   the message does NOT fit, and the reason mentions <text>
  file       path of the envelope bytes
  name       free text for the report

Prints 'PASS <name>' or 'FAIL <name>: <reason>' for every line, then a count, and exits 0 only
when every message met its expectation (2 on unusable input).

The check has no lenient mode. A message fits when
  - it is well-formed XML without a DTD, its root a SOAP 1.1 or 1.2 Envelope, its Body holding
    exactly one element and no text;
  - that element is the one the WSDL binding of that SOAP version names for the operation's input
    (request) or output (response), or, for a response, a SOAP Fault with a code and a reason;
  - zeep, whose default is strict, reads the envelope as that message (an unknown, missing or
    out-of-order element is an error);
  - the element is valid against the XML Schema embedded in the WSDL, compiled by libxml2
    through lxml (value spaces, patterns such as the GUID one, nillability, foreign attributes).
zeep and the schema check see different things (zeep does not check lexical forms; the schema
compiler does not know the binding), so both run and both reasons are reported.

--probe loads every WSDL and compiles every schema; exit 0 means the checker can run.
"""
import argparse
import functools
import logging
import sys
import tempfile
from pathlib import Path

try:
    import zeep
    from lxml import etree
    from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding
except ImportError as missing:  # the Rust tests read this line to explain a skip
    print(f'wsdl_check: cannot import {missing.name}: install zeep and lxml', file=sys.stderr)
    sys.exit(3)

XSD_NS = 'http://www.w3.org/2001/XMLSchema'
SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
SOAP12_ENV = 'http://www.w3.org/2003/05/soap-envelope'
BINDING_FOR_ENV = {SOAP11_ENV: Soap11Binding, SOAP12_ENV: Soap12Binding}

# Nothing a message contains may make the checker read files or the network.
SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                       remove_comments=True, remove_pis=True)


class Misfit(Exception):
    """The message does not fit the WSDL; the text says why."""


class Wsdls:
    def __init__(self, directory):
        self.dir = Path(directory)
        # Compiled schemas refer to one another by file name, so they outlive each call.
        self._scratch = tempfile.TemporaryDirectory(prefix='sluice-wsdl-')

    def names(self):
        return sorted(p.stem for p in self.dir.glob('*.wsdl'))

    def path(self, service):
        p = self.dir / f'{service}.wsdl'
        if not p.is_file():
            raise Misfit(f'no WSDL {service!r} in {self.dir} (have: {", ".join(self.names())})')
        return p

    @functools.lru_cache(maxsize=None)
    def client(self, service):
        return zeep.Client(str(self.path(service)), settings=zeep.Settings(strict=True))

    @functools.lru_cache(maxsize=None)
    def schema(self, service):
        """The WSDL's embedded schemas as one XMLSchema.

        Each embedded xs:schema becomes a file of its own; imports between them get a
        schemaLocation naming that file, and a top-level schema imports them all, so libxml2
        resolves every cross-namespace reference (the guid type, IMonitorable) locally.
        """
        wsdl = etree.parse(str(self.path(service)), SAFE)
        embedded = list(wsdl.iter(f'{{{XSD_NS}}}schema'))
        if not embedded:
            raise Misfit(f'{service}.wsdl embeds no XML Schema')
        files = {}
        for i, schema in enumerate(embedded):
            ns = schema.get('targetNamespace', '')
            if ns in files:
                raise Misfit(f'{service}.wsdl embeds two schemas for {ns!r}')
            files[ns] = Path(self._scratch.name) / f'{service}-{i}.xsd'
        for schema in embedded:
            # A copy keeps the namespace declarations inherited from wsdl:definitions.
            doc = etree.fromstring(etree.tostring(schema))
            for imp in doc.iter(f'{{{XSD_NS}}}import'):
                target = files.get(imp.get('namespace', ''))
                if target is not None:
                    imp.set('schemaLocation', target.as_uri())
            files[schema.get('targetNamespace', '')].write_bytes(etree.tostring(doc))
        top = etree.Element(f'{{{XSD_NS}}}schema')
        for ns, f in files.items():
            etree.SubElement(top, f'{{{XSD_NS}}}import', namespace=ns, schemaLocation=f.as_uri())
        return etree.XMLSchema(top)

    def operation(self, service, name, binding_class):
        for binding in self.client(service).wsdl.bindings.values():
            if isinstance(binding, binding_class) and name in binding._operations:
                return binding.get(name)
        known = sorted({op for b in self.client(service).wsdl.bindings.values()
                        if isinstance(b, binding_class) for op in b._operations})
        raise Misfit(f'{service} has no {binding_class.__name__} operation {name!r} '
                     f'(it has {", ".join(known) or "none"})')


def body_element(data):
    try:
        root = etree.fromstring(data, SAFE)
    except etree.XMLSyntaxError as e:
        raise Misfit(f'not well-formed: {e}') from None
    if root.getroottree().docinfo.doctype:
        raise Misfit('has a document type declaration')
    env = etree.QName(root)
    if env.localname != 'Envelope' or env.namespace not in BINDING_FOR_ENV:
        raise Misfit(f'the root is {root.tag}, not a SOAP 1.1 or 1.2 Envelope')
    body = root.find(f'{{{env.namespace}}}Body')
    if body is None:
        raise Misfit('the Envelope has no Body')
    children = [c for c in body if isinstance(c.tag, str)]
    stray = (body.text or '').strip() or any((c.tail or '').strip() for c in body)
    if len(children) != 1 or stray:
        raise Misfit(f'the Body must hold one element and no text; it holds {len(children)} '
                     f'element(s){" and text" if stray else ""}')
    return root, env.namespace, children[0]


def fault_error_code(fault, env_ns):
    """The WSUS ErrorCode of a SOAP fault, after checking the fault's required parts."""
    def child(parent, name, ns=None):
        return None if parent is None else parent.find(f'{{{ns}}}{name}' if ns else name)

    if env_ns == SOAP11_ENV:
        code, reason, detail = child(fault, 'faultcode'), child(fault, 'faultstring'), child(fault, 'detail')
    else:
        code = child(child(fault, 'Code', env_ns), 'Value', env_ns)
        reason = child(child(fault, 'Reason', env_ns), 'Text', env_ns)
        detail = child(fault, 'Detail', env_ns)
    if code is None or not (code.text or '').strip():
        raise Misfit('the fault has no fault code')
    if reason is None or not (reason.text or '').strip():
        raise Misfit('the fault has no reason text')
    # WSUS writes the detail's children unqualified.
    error_code = child(detail, 'ErrorCode')
    return None if error_code is None else (error_code.text or '').strip()


def zeep_reasons(message, envelope):
    # zeep logs, rather than raises, values it cannot convert; the schema check reports those.
    log = logging.getLogger('zeep')
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        message.deserialize(envelope)
        return []
    except Exception as e:  # zeep raises several unrelated types for a misfit
        return [f'zeep: {type(e).__name__}: {e}']
    finally:
        log.setLevel(level)


def schema_reasons(schema, element):
    doc = etree.fromstring(etree.tostring(element), SAFE)
    if schema.validate(doc):
        return []
    return [f'schema, line {e.line}: {" ".join(e.message.split())}' for e in schema.error_log]


def check(wsdls, direction, service, operation, data):
    """Raises Misfit, or returns (True, its ErrorCode) for a fault and (False, None) otherwise."""
    envelope, env_ns, element = body_element(data)
    op = wsdls.operation(service, operation, BINDING_FOR_ENV[env_ns])
    if direction == 'response' and element.tag == f'{{{env_ns}}}Fault':
        return True, fault_error_code(element, env_ns)
    message = op.input if direction == 'request' else op.output
    expected = message.body.qname
    if element.tag != expected:
        raise Misfit(f'the Body holds {element.tag}; {service} {operation} {direction} is {expected}')
    reasons = zeep_reasons(message, envelope) + schema_reasons(wsdls.schema(service), element)
    if reasons:
        raise Misfit(' | '.join(reasons))
    return False, None


def judge(wsdls, direction, service, operation, expect, data):
    """None when the message met its expectation, else why not."""
    try:
        is_fault, error_code = check(wsdls, direction, service, operation, data)
    except Misfit as e:
        if expect.startswith('refused:') and expect[len('refused:'):] in str(e):
            return None
        return str(e)
    if expect.startswith('refused:'):
        return f'fits the WSDL, but was expected to be refused for {expect[len("refused:"):]!r}'
    if expect.startswith('fault:'):
        want = expect[len('fault:'):]
        if not is_fault:
            return f'a {operation} {direction} where a fault with ErrorCode {want} was expected'
        return None if error_code == want else f'expected a fault with ErrorCode {want}, got {error_code!r}'
    if is_fault:
        return f'a fault (ErrorCode {error_code!r}) where a {operation} {direction} was expected'
    return None


def probe(wsdls):
    names = wsdls.names()
    if not names:
        raise Misfit(f'no WSDL in {wsdls.dir}')
    for name in names:
        wsdls.client(name)
        wsdls.schema(name)
    print(f'wsdl_check: zeep {zeep.__version__}, lxml {etree.__version__}, {len(names)} WSDLs load')


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('manifest', nargs='?')
    parser.add_argument('--probe', action='store_true')
    parser.add_argument('--wsdl-dir', default=str(here.parent / 'tests' / 'wsdl'))
    args = parser.parse_args()
    wsdls = Wsdls(args.wsdl_dir)
    try:
        if args.probe:
            probe(wsdls)
            return 0
        if not args.manifest:
            parser.error('a MANIFEST or --probe is needed')
        passed = failed = 0
        with open(args.manifest, encoding='utf-8') as manifest:
            for number, line in enumerate(manifest, 1):
                fields = line.rstrip('\n').split('\t')
                if len(fields) != 6 or fields[0] not in ('request', 'response') or not (
                        fields[3] == 'valid' or fields[3].startswith(('fault:', 'refused:'))):
                    print(f'wsdl_check: manifest line {number} is malformed: {line!r}', file=sys.stderr)
                    return 2
                direction, service, operation, expect, path, name = fields
                why = judge(wsdls, direction, service, operation, expect, Path(path).read_bytes())
                if why is None:
                    passed += 1
                    print(f'PASS {name}')
                else:
                    failed += 1
                    print(f'FAIL {name} [{service} {operation} {direction}]: {why}')
        print(f'wsdl_check: {passed} as expected, {failed} not')
        return 1 if failed else 0
    except Misfit as e:  # a broken WSDL directory, not a message
        print(f'wsdl_check: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
