"""compile's options for the model as a library in someone else's build."""
import click

from ..choices import PACKAGES


def library_options(command):
    """--name, --share-arena and --package."""
    command = click.option(
        "--package", "packages", multiple=True, type=click.Choice(PACKAGES), metavar="FRAMEWORK",
        help=f"Also write the project as a library of FRAMEWORK ({', '.join(PACKAGES)}; repeatable): "
             "its manifest and build glue, beside the Makefile and CMakeLists.txt.")(command)
    command = click.option(
        "--share-arena", is_flag=True,
        help="Put the planned buffers in one arena shared with the other models compiled with "
             "--share-arena that the firmware links (the largest sizes it), for models that never run at "
             "the same time: each one's state is lost when another runs.")(command)
    return click.option(
        "--name", "name", default="llm", show_default=True, metavar="NAME",
        help="The library's name (make lib: build/libNAME.a, CMake target NAME); any other than llm "
             "prefixes every symbol the library defines (NAME_llm_init, ...) and writes the header "
             "NAME.h, so that several models link into one program.")(command)
