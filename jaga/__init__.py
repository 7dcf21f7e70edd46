"""The composition root and the entry points: the Application wired from bot/, handlers/ and
storage/ (jaga/app.py), the `jaga` command line (jaga/cli.py) and the console (jaga/console.py).

Nothing in bot/, handlers/ or storage/ imports this package: the domain and the flows do not
depend on how they are assembled and started.
"""
