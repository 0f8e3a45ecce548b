"""customer slot claims: one customer, one booking at a time

Revision ID: 0007_customer_slot_claims
Revises: 0008_customer_sessions
Create Date: 2026-12-02 04:00:00.000000

- customer_slot_claims: one row per 5-minute granule of a customer's confirmed bookings under
  UNIQUE (customer_id, slot_start), so the database refuses a second booking that overlaps
  one the customer already holds (SPEC section 9, fair use; models/booking.py).
- It follows 0008_customer_sessions, which reached main while this one was written
  (Alembic goes by down_revision, not by the number).
- Filled from the claims of the confirmed bookings that exist. Overlaps made before this rule
  stay as they were: each granule goes to the customer's earliest booking holding it.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007_customer_slot_claims"
down_revision = "0008_customer_sessions"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "customer_slot_claims",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booking_id", BigIntPK, nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_customer_slot_claims_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_slot_claims_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_slot_claims")),
        sa.UniqueConstraint(
            "customer_id", "slot_start", name=op.f("uq_customer_slot_claims_customer_id_slot_start")
        ),
    )
    with op.batch_alter_table("customer_slot_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_slot_claims_booking_id"), ["booking_id"], unique=False
        )

    op.execute(
        "INSERT INTO customer_slot_claims (customer_id, slot_start, booking_id) "
        "SELECT b.customer_id, c.slot_start, MIN(b.id) "
        "FROM booking_slot_claims c JOIN bookings b ON b.id = c.booking_id "
        "WHERE b.status = 'confirmed' "
        "GROUP BY b.customer_id, c.slot_start"
    )


def downgrade():
    with op.batch_alter_table("customer_slot_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_slot_claims_booking_id"))

    op.drop_table("customer_slot_claims")
