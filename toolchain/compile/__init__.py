"""The compiler's stages, in the order compiler.compile_project runs them: spec (the
one value every stage reads), quantize, layout (each kernel's weight layout), image,
plan (the memory plan), fit, sources (which runtime files a project carries), render
(written atomically by outdir). analyze and plot report a fit without compiling."""
