"""The book's figures, one module per section: ``encoding`` (01), ``dataset`` (02), ``training`` (03),
``calibration`` (04), ``attention`` (05) and ``validation`` (06); ``style`` holds the shared colours.

In: arrays and tables computed by the pipeline's stages. Out: Matplotlib figures; nothing
here computes a number the book reports.
"""
