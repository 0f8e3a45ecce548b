"""customer_sessions: signed-in web sessions that the server can end

Revision ID: 0008_customer_sessions
Revises: 0006_outbox_locations
Create Date: 2026-12-02 03:40:00.000000

- customer_sessions: one row per sign-in; the cookie carries a random id, the table its
  SHA-256 only. Sign-out and a password change set revoked_at (SPEC section 9). Nobody is
  signed in after this migration: a cookie from before it carries no session id.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_customer_sessions'
down_revision = '0006_outbox_locations'
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('customer_sessions',
    sa.Column('id', BigIntPK, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', BigIntPK, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_sessions_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_customer_sessions_token_hash'))
    )
    with op.batch_alter_table('customer_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_sessions_customer_id'), ['customer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('customer_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_sessions_customer_id'))

    op.drop_table('customer_sessions')
