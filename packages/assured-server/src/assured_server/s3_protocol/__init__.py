"""The S3 protocol the embedded storage speaks: its routes, SigV4 and POST policies, XML, ranges.

``sigv4`` signs and verifies (what signs is what verifies: the storage backends presign with
it, the routes check with it); ``routes`` serves ``/storage`` for the filesystem backend.
"""
