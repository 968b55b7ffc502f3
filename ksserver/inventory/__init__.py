"""The domain API that both front ends (``rocks`` CLI and the Flask server) call.

Every function takes a SQLAlchemy ``Session`` opened by ``ksserver.db.session.Database`` and
raises ``ksserver.errors`` exceptions; none of them knows about click or Flask.
"""
