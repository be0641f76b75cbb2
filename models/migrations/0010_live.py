from tortoise import migrations
from tortoise.migrations import operations as ops
from models.live import DeliveryStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_office')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=255)),
                ('user_id', fields.IntField()),
                ('request_hash', fields.CharField(max_length=64)),
                ('response', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('status_code', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_key', 'app': 'models', 'unique_together': (('user_id', 'key'),), 'indexes': [Index(fields=['created_at'], name='idempotency_key_created_idx')], 'pk_attr': 'id', 'table_description': 'The first answer to a mutation sent with an Idempotency-Key header, returned again for a retry.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=500)),
                ('event_kinds', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('secret', fields.CharField(max_length=200)),
                ('description', fields.CharField(default='', max_length=200)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.SET_NULL)),
                ('enabled', fields.BooleanField(default=True)),
                ('disabled_reason', fields.CharField(null=True, max_length=300)),
                ('consecutive_failures', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('event_id', fields.BigIntField()),
                ('event_kind', fields.CharField(max_length=32)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('response_code', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=300)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'unique_together': (('endpoint', 'event_id'),), 'indexes': [Index(fields=['status', 'next_attempt_at'], name='webhook_delivery_due_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
