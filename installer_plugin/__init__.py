"""The installer side of Rocks-style partitioning: runs in the installer's %pre and %post (Python 3.9
stdlib + pyparted, never imports ksserver). ``decide`` is the pure decision, ``cli`` the entry points,
``bundle`` what the first %pre fetches, ``kickstart`` the script sections the server puts around them."""
