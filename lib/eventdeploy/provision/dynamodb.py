"""DynamoDB tables: the Powertools idempotency store and the deployment ledger."""

from __future__ import annotations

from eventdeploy.provision.context import Provisioner, wait_until


def ensure_table(p: Provisioner, suffix: str, hash_key: str, range_key: str | None = None,
                 ttl_attribute: str | None = None) -> str:
    """An on-demand table keyed by string ``hash_key`` (and ``range_key``), with optional TTL; returns its ARN."""
    ddb = p.client("dynamodb")
    name = p.name(suffix)
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    try:
        table = ddb.describe_table(TableName=name)["Table"]
        if table["KeySchema"] != keys:
            raise ValueError(f"table {name} exists with key schema {table['KeySchema']}, not {keys}: a key schema "
                             "cannot change in place; delete the table (99_teardown) or choose another prefix")
    except ddb.exceptions.ResourceNotFoundException:
        ddb.create_table(
            TableName=name, KeySchema=keys, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k["AttributeName"], "AttributeType": "S"} for k in keys],
            Tags=p.tag_list(),
        )
        p.changed("create", "dynamodb table", name)
        table = wait_until(lambda: (t := ddb.describe_table(TableName=name)["Table"])["TableStatus"] == "ACTIVE"
                           and t, f"table {name} to become ACTIVE")
    if ttl_attribute:
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or ttl.get("AttributeName") != ttl_attribute:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl_attribute})
            p.changed("update", "dynamodb ttl", name)
    return p.record("dynamodb", "table", name, table["TableArn"])
