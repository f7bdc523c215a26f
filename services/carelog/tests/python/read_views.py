"""An integrator's first Python client: stubs generated from proto/ with grpcio-tools, then every
read reply's fields read by name. Usage: read_views.py PROTO_DIR ADDRESS TOKEN CLIENT_ID ACCOUNT_ID

Prints one JSON object of what it read, for the Rust test to compare with its own typed reading.
"""
import json
import os
import sys
import tempfile

import grpc
import grpc_tools
from grpc_tools import protoc


def generate(proto_dir, out):
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = sorted(
        os.path.join("carelog/v1", f) for f in os.listdir(os.path.join(proto_dir, "carelog/v1")) if f.endswith(".proto")
    )
    args = ["protoc", f"-I{proto_dir}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        sys.exit("protoc failed on " + " ".join(files))
    sys.path.insert(0, out)


def read_every_field(message, path, seen):
    """Reads every field of `message` by its name, recursively; records each path read."""
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        here = f"{path}.{field.name}" if path else field.name
        seen.add(here)
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            continue
        # protobuf 5.x+ spells it `is_repeated`; older releases only have `label`.
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        if repeated:
            for item in value:
                read_every_field(item, here + "[]", seen)
        elif message.HasField(field.name):
            read_every_field(value, here, seen)


def main():
    proto_dir, address, token, client_id, account_id = sys.argv[1:6]
    out = tempfile.mkdtemp()
    generate(proto_dir, out)
    from carelog.v1 import records_pb2, records_pb2_grpc, views_pb2

    metadata = [("authorization", f"Bearer {token}")]
    stub = records_pb2_grpc.RecordsServiceStub(grpc.insecure_channel(address))
    episode = stub.GetEpisode(records_pb2.GetEpisodeRequest(client_id=client_id), metadata=metadata)
    ledger = stub.GetLedger(records_pb2.GetLedgerRequest(account_id=account_id), metadata=metadata)
    seen = set()
    read_every_field(episode.view, "", seen)
    read_every_field(ledger.ledger, "", seen)

    view = episode.view
    held = [s for s in view.sessions if s.status == views_pb2.SESSION_STATUS_HELD]
    note = next(s.note for s in held if s.HasField("note"))
    feed = stub.Subscribe(records_pb2.SubscribeRequest(categories=["session"]), metadata=metadata)
    members = []
    for reply in feed:
        if reply.WhichOneof("item") != "event":
            break
        members.append([reply.event.event_type, reply.event.data.WhichOneof("event"), len(reply.event.chain_hash)])
        if len(members) == 5:
            break
    feed.cancel()
    print(json.dumps({
        "fields_read": len(seen),
        "legal_name": view.demographics.legal_name,
        "payer": views_pb2.PayerKind.Name(view.demographics.payer.kind),
        "sessions": len(view.sessions),
        "held": len(held),
        "first_note_format": views_pb2.NoteFormat.Name(note.content.format),
        "first_note_subjective": note.content.subjective,
        "content_hash_bytes": len(note.content_hash),
        "phq9_totals": [a.total for a in view.assessments if a.instrument == views_pb2.INSTRUMENT_PHQ_9],
        "balance": ledger.ledger.balance,
        "charge_cpts": [line.cpt for charge in ledger.ledger.charges for line in charge.lines],
        "aging_0_30": ledger.ledger.aging.days_0_30,
        "feed": members,
    }))


if __name__ == "__main__":
    main()
