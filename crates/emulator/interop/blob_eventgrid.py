"""Interop scenario: Microsoft's azure-storage-blob and azure-eventgrid SDKs against the emulators.

Environment (set by e2e/tests/interop_python_blob_eventgrid.rs):
  BLOB_CONNECTION_STRING  connection string with BlobEndpoint=http://127.0.0.1:<port>/devstoreaccount1
  EVENTGRID_URL           http://127.0.0.1:<port>
  EVENTGRID_KEY           key of the default topic
  SCENARIO                "blob", "eventgrid" or "all" (default)
Prints one line per step and exits non-zero on the first failure.
"""

import datetime
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid


def step(msg):
    print(f"ok: {msg}", flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def blob_scenario():
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
    from azure.storage.blob import BlobClient, BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

    conn = os.environ["BLOB_CONNECTION_STRING"]
    service = BlobServiceClient.from_connection_string(conn, max_single_put_size=1024, max_block_size=1024)
    name = "interop-" + uuid.uuid4().hex[:8]
    container = service.create_container(name, metadata={"purpose": "interop"})
    step("create container")
    try:
        service.create_container(name)
        raise AssertionError("duplicate container accepted")
    except ResourceExistsError:
        step("duplicate container is ResourceExistsError")
    check(container.get_container_properties().metadata == {"purpose": "interop"}, "container metadata")

    data = bytes((i * 7) % 251 for i in range(5000))
    bc = container.get_blob_client("dir/big.bin")
    bc.upload_blob(data, content_settings=ContentSettings(content_type="application/x-test"), metadata={"k": "v"})
    blocks, _ = bc.get_block_list("committed")
    check(len(blocks) == 5, f"expected 5 committed blocks, got {len(blocks)}")
    step("upload in 5 blocks")
    props = bc.get_blob_properties()
    check(props.size == 5000, f"size {props.size}")
    check(props.content_settings.content_type == "application/x-test", "content type")
    check(props.metadata == {"k": "v"}, f"metadata {props.metadata}")
    step("blob properties")
    part = bc.download_blob(offset=100, length=50).readall()
    check(part == data[100:150], "range download")
    check(bc.download_blob().readall() == data, "full download")
    step("download a range and the whole blob")
    try:
        bc.upload_blob(b"x", overwrite=False)
        raise AssertionError("overwrite=False accepted")
    except ResourceExistsError:
        step("upload without overwrite is ResourceExistsError")
    try:
        bc.upload_blob(b"x", overwrite=True, etag='"0x1"', match_condition=__import__("azure.core").core.MatchConditions.IfNotModified)
        raise AssertionError("wrong etag accepted")
    except HttpResponseError as e:
        check(e.status_code == 412, f"status {e.status_code}")
        step("If-Match mismatch is 412")

    for i in range(7):
        container.upload_blob(f"page/{i:02}.txt", f"blob {i}".encode())
    pages = list(container.list_blobs(name_starts_with="page/", results_per_page=3).by_page())
    names = [b.name for p in pages for b in p]
    check(len(pages) == 3, f"expected 3 pages, got {len(pages)}")
    check(names == [f"page/{i:02}.txt" for i in range(7)], f"names {names}")
    step("list with paging (3 pages)")
    top = sorted(x.name for x in container.walk_blobs(delimiter="/"))
    check(top == ["dir/", "page/"], f"walk {top}")
    step("list with delimiter")

    sas = generate_blob_sas(
        account_name=service.account_name,
        container_name=name,
        blob_name="dir/big.bin",
        account_key=service.credential.account_key,
        permission=BlobSasPermissions(read=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1),
    )
    reader = BlobClient.from_blob_url(bc.url, credential=sas)
    check(reader.download_blob(offset=0, length=10).readall() == data[:10], "SAS read")
    try:
        reader.upload_blob(b"nope", overwrite=True)
        raise AssertionError("read-only SAS could write")
    except HttpResponseError as e:
        check(e.status_code == 403, f"status {e.status_code}")
    step("service SAS: read allowed, write refused")
    expired = generate_blob_sas(
        account_name=service.account_name,
        container_name=name,
        blob_name="dir/big.bin",
        account_key=service.credential.account_key,
        permission=BlobSasPermissions(read=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5),
    )
    try:
        BlobClient.from_blob_url(bc.url, credential=expired).get_blob_properties()
        raise AssertionError("expired SAS accepted")
    except (ClientAuthenticationError, HttpResponseError) as e:
        check(e.status_code == 403, f"status {e.status_code}")
    step("expired SAS refused")

    bc.delete_blob()
    try:
        bc.get_blob_properties()
        raise AssertionError("deleted blob still there")
    except ResourceNotFoundError:
        step("delete blob")
    service.delete_container(name)
    check(name not in [c.name for c in service.list_containers()], "container deleted")
    step("delete container")


class Hook(http.server.BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_OPTIONS(self):
        with Hook.lock:
            Hook.received.append(("OPTIONS", dict(self.headers), None))
        self.send_response(200)
        self.send_header("WebHook-Allowed-Origin", self.headers.get("WebHook-Request-Origin", "*"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        payload = json.loads(body)
        with Hook.lock:
            Hook.received.append(("POST", dict(self.headers), payload))
        out = b""
        if self.headers.get("aeg-event-type") == "SubscriptionValidation":
            out = json.dumps({"validationResponse": payload[0]["data"]["validationCode"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def subscribe(base, admin_key, name, endpoint, schema, types):
    body = json.dumps({"endpoint": endpoint, "schema": schema, "included_event_types": types}).encode()
    req = urllib.request.Request(f"{base}/default/subscriptions/{name}", data=body, method="PUT",
                                 headers={"x-emulator-admin-key": admin_key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        check(r.status == 200, f"subscribe {name}: {r.status}")


def topic_key_cannot_subscribe(base, key, endpoint):
    body = json.dumps({"endpoint": endpoint}).encode()
    req = urllib.request.Request(f"{base}/default/subscriptions/by-topic-key", data=body, method="PUT",
                                 headers={"aeg-sas-key": key, "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("the topic key created a subscription")
    except urllib.error.HTTPError as e:
        check(e.code == 401, f"status {e.code}")


def wait_for(pred, what):
    for _ in range(250):
        with Hook.lock:
            if pred(list(Hook.received)):
                return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; received {Hook.received}")


def eventgrid_scenario():
    from azure.core.credentials import AzureKeyCredential, AzureSasCredential
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    from azure.core.messaging import CloudEvent
    from azure.eventgrid import EventGridEvent, EventGridPublisherClient, generate_sas

    base = os.environ["EVENTGRID_URL"]
    key = os.environ["EVENTGRID_KEY"]
    admin_key = os.environ["EVENTGRID_ADMIN_KEY"]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    topic_key_cannot_subscribe(base, key, hook + "/eg")
    step("the topic key cannot create subscriptions")
    subscribe(base, admin_key, "py-eg", hook + "/eg", "eventgrid", ["Interop.EventGrid"])
    subscribe(base, admin_key, "py-ce", hook + "/ce", "cloudevents", ["Interop.Cloud"])
    step("subscriptions created over HTTP with the admin key")

    endpoint = f"{base}/api/events"
    client = EventGridPublisherClient(endpoint, AzureKeyCredential(key))
    client.send([EventGridEvent(subject="/interop/1", event_type="Interop.EventGrid", data={"n": 1}, data_version="1.0"),
                 EventGridEvent(subject="/interop/2", event_type="Interop.EventGrid", data={"n": 2}, data_version="1.0")])
    step("published an EventGrid batch with the key")
    sas = generate_sas(endpoint, key, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    sas_client = EventGridPublisherClient(endpoint, AzureSasCredential(sas))
    sas_client.send([CloudEvent(source="/interop", type="Interop.Cloud", data={"n": 3})])
    step("published a CloudEvents batch with a SAS token")

    def notifications(rs, path):
        return [r for r in rs if r[0] == "POST" and r[1].get("aeg-event-type") == "Notification" and r[2] is not None
                and (path == "ce" and isinstance(r[2], dict) or path == "eg" and isinstance(r[2], list))]

    wait_for(lambda rs: len(notifications(rs, "eg")) == 2 and len(notifications(rs, "ce")) == 1, "deliveries")
    with Hook.lock:
        rs = list(Hook.received)
    first_eg = next(i for i, r in enumerate(rs) if r[0] == "POST" and isinstance(r[2], list))
    check(rs[first_eg][1].get("aeg-event-type") == "SubscriptionValidation", "validation event comes first")
    first_opt = next(i for i, r in enumerate(rs) if r[0] == "OPTIONS")
    first_ce = next(i for i, r in enumerate(rs) if r[0] == "POST" and isinstance(r[2], dict))
    check(first_opt < first_ce, "OPTIONS handshake before the CloudEvent")
    check(sorted(n[2][0]["data"]["n"] for n in notifications(rs, "eg")) == [1, 2], "EventGrid payloads")
    check(notifications(rs, "ce")[0][2]["data"] == {"n": 3}, "CloudEvent payload")
    step("handshakes done, then events delivered")

    bad = EventGridPublisherClient(endpoint, AzureKeyCredential("d3Jvbmcta2V5"))
    try:
        bad.send([EventGridEvent(subject="/x", event_type="Interop.EventGrid", data={}, data_version="1.0")])
        raise AssertionError("wrong key accepted")
    except (ClientAuthenticationError, HttpResponseError) as e:
        check(e.status_code == 401, f"status {e.status_code}")
    step("wrong key refused")
    expired = generate_sas(endpoint, key, datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1))
    try:
        EventGridPublisherClient(endpoint, AzureSasCredential(expired)).send([CloudEvent(source="/x", type="Interop.Cloud", data={})])
        raise AssertionError("expired SAS accepted")
    except (ClientAuthenticationError, HttpResponseError) as e:
        check(e.status_code == 401, f"status {e.status_code}")
    step("expired SAS refused")
    server.shutdown()


def main():
    scenario = os.environ.get("SCENARIO", "all")
    if scenario in ("blob", "all"):
        blob_scenario()
    if scenario in ("eventgrid", "all"):
        eventgrid_scenario()
    print("interop: all steps passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report and fail
        import traceback
        traceback.print_exc()
        print(f"FAILED: {e}", flush=True)
        sys.exit(1)
