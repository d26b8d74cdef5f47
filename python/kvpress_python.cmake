# Decides whether the Python module (python/CMakeLists.txt) is built, before the libraries are
# declared: it needs every library compiled position-independent.
#
#   KVPRESS_PYTHON = AUTO (default): on when pybind11 and the Python headers are found (Debian:
#                    pybind11-dev python3-dev, installed by scripts/install-deps.sh), off otherwise;
#                    ON: missing pieces are an error; OFF: never.
# Sanitizer and fuzzing builds never build it (the module would need the sanitizer runtime preloaded
# into python). `pip install ./python` (SKBUILD) always builds it.
#
# In the main build the interpreter defaults to Debian's /usr/bin/python3, the one install-deps.sh
# gives pytest and numpy; pass -DPython_EXECUTABLE=... to use another.
set(KVPRESS_PYTHON AUTO CACHE STRING "Build the Python module: AUTO, ON or OFF")
set_property(CACHE KVPRESS_PYTHON PROPERTY STRINGS AUTO ON OFF)

set(KVPRESS_PYTHON_ENABLED OFF)
if(KVPRESS_PYTHON_PACKAGE)
  set(_kvpress_python_wanted ON)
elseif(KVPRESS_PYTHON STREQUAL "OFF" OR KVPRESS_SANITIZE OR KVPRESS_FUZZ)
  set(_kvpress_python_wanted OFF)
else()
  set(_kvpress_python_wanted ON)
endif()

if(_kvpress_python_wanted)
  if(NOT KVPRESS_PYTHON_PACKAGE AND NOT DEFINED Python_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "Python interpreter of the kvpress_cpp module and its tests")
  endif()
  find_package(Python 3.8 COMPONENTS Interpreter Development.Module QUIET)
  set(PYBIND11_FINDPYTHON ON)
  if(Python_FOUND)
    find_package(pybind11 2.6 CONFIG QUIET)
  endif()
  if(Python_FOUND AND pybind11_FOUND)
    set(KVPRESS_PYTHON_ENABLED ON)
    set(CMAKE_POSITION_INDEPENDENT_CODE ON)
    # -fPIC alone lets the compiler assume any global function may be interposed and so stops it
    # inlining them; the libraries never rely on interposition.
    add_compile_options(-fno-semantic-interposition)
    message(STATUS "kvpress: Python module on (Python ${Python_VERSION} at ${Python_EXECUTABLE}, pybind11 ${pybind11_VERSION})")
  elseif(KVPRESS_PYTHON STREQUAL "ON" OR KVPRESS_PYTHON_PACKAGE)
    message(FATAL_ERROR "kvpress: the Python module needs pybind11 and the Python headers "
                        "(Debian: apt-get install pybind11-dev python3-dev; or pip install pybind11)")
  else()
    message(STATUS "kvpress: Python module off (pybind11 or the Python headers not found; "
                   "scripts/install-deps.sh installs them)")
  endif()
endif()
