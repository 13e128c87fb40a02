"""Reading inputs: files, ``.gz`` files, directories and stdin -> ``Decoded``.

``read`` (``read_inputs``, ``iter_inputs``) drives one ``IncrementalDecoder`` over the
pieces ``sources`` reads (read ahead in a thread, kinds found from content);
``tabular`` reads decoded tables (MarineCadastre and DMA CSV, positions Parquet);
``buffers`` hands the largest arrays from piece to piece.
"""
