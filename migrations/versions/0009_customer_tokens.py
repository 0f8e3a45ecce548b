"""customer_tokens: one-time links sent to a customer's address

Revision ID: 0009_customer_tokens
Revises: 0007_customer_slot_claims
Create Date: 2026-12-02 06:10:00.000000

- customer_tokens: confirmation, password-reset, sign-in, confirm-changes and change-email
  links (SPEC section 9). The link carries a random token, the table its SHA-256 only;
  used_at is set once, by a conditional UPDATE, so each link works once.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_customer_tokens'
down_revision = '0007_customer_slot_claims'
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('customer_tokens',
    sa.Column('id', BigIntPK, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', BigIntPK, nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('confirm_email', 'password_reset', 'sign_in', 'confirm_changes', 'change_email')", name=op.f('ck_customer_tokens_purpose')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_tokens_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_customer_tokens_token_hash'))
    )
    with op.batch_alter_table('customer_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_tokens_customer_id'), ['customer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('customer_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_tokens_customer_id'))

    op.drop_table('customer_tokens')
