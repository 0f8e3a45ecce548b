"""outbox messages; location address, country, phone; booking sequence

Revision ID: 0006_outbox_locations
Revises: 0005_schema_guards
Create Date: 2026-12-02 02:30:00.000000

- outbox_messages: the messages to customers, written in the same transaction as the change
  they report and delivered by `flask outbox worker` (SPEC section 8).
- locations.address, .country, .phone: shown in messages and on the confirmation page; NULL
  for the locations that existed before (the catalog loader fills them on the next load).
- bookings.sequence: the iCalendar SEQUENCE, 0 for every booking that exists already.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_outbox_locations'
down_revision = '0005_schema_guards'
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('outbox_messages',
    sa.Column('id', BigIntPK, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('customer_id', BigIntPK, nullable=True),
    sa.Column('booking_id', BigIntPK, nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed', 'withdrawn')", name=op.f('ck_outbox_messages_state')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_messages_attempts')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_outbox_messages_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_outbox_messages_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_messages_message_id'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_outbox_messages_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('sequence')

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('country')
        batch_op.drop_column('address')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_state_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_customer_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_booking_id'))

    op.drop_table('outbox_messages')
